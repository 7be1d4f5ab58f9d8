package io.opsec.stack.tcp;

import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A passive open on one local port (RFC 9293 §3.10.1, LISTEN). Incoming SYNs create connections
 * in SYN-RECEIVED; once ESTABLISHED they wait in the accept queue for
 * {@link TcpEndpoint#accept(TcpListener)}. {@code backlog} bounds half-open plus unaccepted
 * connections together; SYNs beyond it are answered with SYN cookies
 * ({@link TcpConfig#synCookies()}), or dropped silently (the peer retransmits) when cookies are off
 * or the accept queue alone is full.
 */
public final class TcpListener {
    final int port;
    final int backlog;
    final Supplier<? extends TcpExtension> extensions;
    final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    int halfOpen;
    boolean closed;
    boolean acceptablePending;
    long cookieSentAt = Long.MIN_VALUE; // when this listener last answered a SYN with a cookie
    private Consumer<TcpListener> onAcceptable = l -> {};

    TcpListener(int port, int backlog, Supplier<? extends TcpExtension> extensions) {
        this.port = port;
        this.backlog = Math.max(1, backlog);
        this.extensions = extensions;
    }

    public int port() {
        return port;
    }

    public int backlog() {
        return backlog;
    }

    /** Connections ready for accept. */
    public int acceptable() {
        return acceptQueue.size();
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Called (like {@link ConnectionEvents}, at the end of the endpoint call) when a connection
     * becomes ready to accept.
     */
    public void setOnAcceptable(Consumer<TcpListener> callback) {
        this.onAcceptable = callback == null ? l -> {} : callback;
    }

    Consumer<TcpListener> onAcceptable() {
        return onAcceptable;
    }

    boolean full() {
        return halfOpen + acceptQueue.size() >= backlog;
    }

    @Override
    public String toString() {
        return "TcpListener[" + port + " LISTEN, " + acceptQueue.size() + " ready, " + halfOpen + " half-open]";
    }
}
