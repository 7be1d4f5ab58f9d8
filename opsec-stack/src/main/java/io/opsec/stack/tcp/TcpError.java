package io.opsec.stack.tcp;

/** Why a connection ended abnormally; {@link TcpConnection#error()} is {@code null} for an orderly end. */
public enum TcpError {
    /** A RST answered our SYN (RFC 9293 §3.10.7.3): nobody listens on the remote port. */
    REFUSED("connection refused"),
    /** The peer reset a synchronized connection (RFC 9293 §3.10.7.4, second check). */
    RESET("connection reset by peer"),
    /** Retransmissions, SYN retries, keepalive probes or the user timeout ran out (RFC 9293 §3.8.3). */
    TIMEOUT("connection timed out"),
    /** This side aborted the connection (abort, or close with unread data). */
    ABORTED("connection aborted locally"),
    /** The handshake extension (OPSEC) demanded an abort on a protocol violation. */
    EXTENSION("aborted by the handshake extension"),
    /** The endpoint was shut down while the connection was open. */
    ENDPOINT_CLOSED("endpoint closed");

    private final String description;

    TcpError(String description) {
        this.description = description;
    }

    /** A short human description, like strerror. */
    public String description() {
        return description;
    }
}
