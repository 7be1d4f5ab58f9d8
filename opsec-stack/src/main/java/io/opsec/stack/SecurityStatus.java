package io.opsec.stack;

import io.opsec.stack.opsec.PlainReason;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * The opportunistic-security status of one connection (draft §5: "determine the opportunistic
 * security status of a given connection"). Immutable.
 *
 * <p>A secured connection names its protocol and cipher suite and carries a 32-byte session id
 * exported from the TLS session (RFC 5705): both ends of an honest connection see the same id, a
 * man in the middle makes them differ. A plain connection says why it is plain.
 */
public final class SecurityStatus {
    private final boolean secured;
    private final String protocol;
    private final String cipherSuite;
    private final byte[] sessionId;
    private final String peerFingerprint;
    private final PlainReason plainReason;
    private final String detail;

    private SecurityStatus(boolean secured, String protocol, String cipherSuite, byte[] sessionId,
                           String peerFingerprint, PlainReason plainReason, String detail) {
        this.secured = secured;
        this.protocol = protocol;
        this.cipherSuite = cipherSuite;
        this.sessionId = sessionId == null ? null : sessionId.clone();
        this.peerFingerprint = peerFingerprint;
        this.plainReason = plainReason;
        this.detail = detail;
    }

    /** A secured connection. */
    public static SecurityStatus secured(String protocol, String cipherSuite, byte[] sessionId, String peerFingerprint) {
        return new SecurityStatus(true, Objects.requireNonNull(protocol), Objects.requireNonNull(cipherSuite),
                Objects.requireNonNull(sessionId), peerFingerprint, null, null);
    }

    /** A plain connection, and why. */
    public static SecurityStatus plain(PlainReason reason) {
        return new SecurityStatus(false, null, null, null, null, Objects.requireNonNull(reason), null);
    }

    /** Not yet known: the handshake (TCP, or the security protocol's) has not finished. */
    public static SecurityStatus pending(String detail) {
        return new SecurityStatus(false, null, null, null, null, null, detail);
    }

    /** Whether all application data on this connection is protected by a security protocol. */
    public boolean isSecured() {
        return secured;
    }

    /** Whether the status is still being decided. */
    public boolean isPending() {
        return !secured && plainReason == null;
    }

    /** The security protocol and version ("TLSv1.2"), when secured. */
    public Optional<String> protocol() {
        return Optional.ofNullable(protocol);
    }

    /** The negotiated cipher suite's IANA name, when secured. */
    public Optional<String> cipherSuite() {
        return Optional.ofNullable(cipherSuite);
    }

    /** The 32-byte session id (RFC 5705 exporter), when secured; a copy. */
    public Optional<byte[]> sessionId() {
        return Optional.ofNullable(sessionId).map(byte[]::clone);
    }

    /** The session id in hex, when secured. */
    public Optional<String> sessionIdHex() {
        return Optional.ofNullable(sessionId).map(HexFormat.of()::formatHex);
    }

    /** SHA-256 fingerprint of the peer's public key, when the peer presented a certificate. */
    public Optional<String> peerFingerprint() {
        return Optional.ofNullable(peerFingerprint);
    }

    /** Why the connection is plain, when it is. */
    public Optional<PlainReason> plainReason() {
        return Optional.ofNullable(plainReason);
    }

    /** One line for humans: {@code secured TLSv1.2 TLS_DH_anon_WITH_AES_128_GCM_SHA256 session 3f2a...}. */
    @Override
    public String toString() {
        if (secured) {
            return "secured " + protocol + " " + cipherSuite + " session " + sessionIdHex().orElseThrow()
                    + (peerFingerprint != null ? " peer-key " + peerFingerprint : "");
        }
        if (plainReason != null) {
            return "plaintext (" + plainReason.description() + ")";
        }
        return "pending" + (detail != null ? " (" + detail + ")" : "");
    }
}
