package io.opsec.stack;

/**
 * A listening port used without blocking (see {@link OpsecConnection}): {@link #poll()} hands out
 * connections whose handshake and security are settled.
 */
public final class OpsecListener implements AutoCloseable {
    private final OpsecStack.ListenerHandle listener;

    OpsecListener(OpsecStack.ListenerHandle listener) {
        this.listener = listener;
    }

    /** The next settled connection, or {@code null} when none is waiting. */
    public OpsecConnection poll() {
        return listener.pollConnection();
    }

    public int port() {
        return listener.port();
    }

    /** Stops listening; connections not yet handed out are reset. */
    @Override
    public void close() {
        listener.close();
    }
}
