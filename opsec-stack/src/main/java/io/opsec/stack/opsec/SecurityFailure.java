package io.opsec.stack.opsec;

import java.util.Objects;

/**
 * A security session failed: the connection must be reset at once and the application told
 * (draft-paddon-tcp-opsec §3.4; READING-NOTES decision 5). Never a reason to fall back to
 * plaintext.
 *
 * <p>A failure names the protocol alert involved, if any: its code and name as the security
 * protocol defines them (for TLS, the RFC 5246 §7.2 AlertDescription registry), its level, and
 * whether this end sent it (it detected the problem) or received it (the peer did). Transport
 * truncation (a FIN or RST before the peer's orderly close) has no alert.
 */
public final class SecurityFailure extends Exception {

    private static final long serialVersionUID = 1L;

    /** How the session failed. */
    public enum Kind {
        /**
         * This end detected a problem and raised a fatal alert, queued in the session's network
         * output when the protocol can write one (TLS cannot before it has seen a ClientHello,
         * since the record version is not yet known; then nothing is queued).
         */
        ALERT_SENT,
        /** The peer sent a fatal alert. */
        ALERT_RECEIVED,
        /** The transport ended (TCP FIN) before the peer's orderly close: data may be cut. */
        TRUNCATED,
        /** The transport was reset (TCP RST) before the peer's orderly close. */
        RESET
    }

    /** The level of an alert (RFC 5246 §7.2: warning(1), fatal(2)). */
    public enum AlertLevel { WARNING, FATAL }

    private final Kind kind;
    private final int alertCode;
    private final String alertName;
    private final AlertLevel alertLevel;

    private SecurityFailure(Kind kind, int alertCode, String alertName, AlertLevel alertLevel,
                            String detail, Throwable cause) {
        super(message(kind, alertCode, alertName, alertLevel, detail), cause);
        this.kind = kind;
        this.alertCode = alertCode;
        this.alertName = alertName;
        this.alertLevel = alertLevel;
    }

    /**
     * A failure this end detected: it raised {@code alertName(alertCode)} at {@code level}.
     *
     * @param detail what was wrong, for the message (may be {@code null})
     * @param cause  the engine's exception (may be {@code null})
     */
    public static SecurityFailure alertSent(int alertCode, String alertName, AlertLevel level,
                                            String detail, Throwable cause) {
        return new SecurityFailure(Kind.ALERT_SENT, alertCode, Objects.requireNonNull(alertName),
                Objects.requireNonNull(level), detail, cause);
    }

    /** A failure the peer reported with {@code alertName(alertCode)} at {@code level}. */
    public static SecurityFailure alertReceived(int alertCode, String alertName, AlertLevel level,
                                                String detail, Throwable cause) {
        return new SecurityFailure(Kind.ALERT_RECEIVED, alertCode, Objects.requireNonNull(alertName),
                Objects.requireNonNull(level), detail, cause);
    }

    /** The transport ended ({@code reset} false: FIN; true: RST) before the peer's orderly close. */
    public static SecurityFailure truncated(boolean reset, String detail) {
        return new SecurityFailure(reset ? Kind.RESET : Kind.TRUNCATED, -1, null, null, detail, null);
    }

    /** How the session failed. */
    public Kind kind() {
        return kind;
    }

    /** True when an alert is involved ({@link Kind#ALERT_SENT} or {@link Kind#ALERT_RECEIVED}). */
    public boolean hasAlert() {
        return alertName != null;
    }

    /** The alert's code (for TLS, the AlertDescription value), or -1 without an alert. */
    public int alertCode() {
        return alertCode;
    }

    /** The alert's name, such as {@code "bad_record_mac"}, or {@code null} without an alert. */
    public String alertName() {
        return alertName;
    }

    /** The alert's level, or {@code null} without an alert. */
    public AlertLevel alertLevel() {
        return alertLevel;
    }

    /** True when this end sent the alert; false when it received it or there is none. */
    public boolean alertSentByUs() {
        return kind == Kind.ALERT_SENT;
    }

    private static String message(Kind kind, int code, String name, AlertLevel level, String detail) {
        String head = switch (kind) {
            case ALERT_SENT -> "sent " + level.name().toLowerCase() + " alert " + name + "(" + code + ")";
            case ALERT_RECEIVED -> "received " + level.name().toLowerCase() + " alert " + name + "(" + code + ")";
            case TRUNCATED -> "truncated: transport ended (FIN) before the peer's close_notify";
            case RESET -> "truncated: transport reset (RST) before the peer's close_notify";
        };
        return detail == null || detail.isEmpty() ? head : head + ": " + detail;
    }
}
