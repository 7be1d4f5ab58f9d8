package io.opsec.stack.tcp;

/**
 * Readiness callbacks of one connection, for an event loop or a simulator without threads.
 *
 * <p>Callbacks run synchronously on the caller's thread at the end of the endpoint call that
 * caused them ({@link TcpEndpoint#receive}, {@link TcpEndpoint#poll}, or a connection method),
 * after TCP has finished its own processing, so a callback may call any method of the
 * connection or endpoint (send, read, close...). Callbacks raised by a call made from inside a
 * callback are delivered after the current one returns, never nested. Each kind is delivered
 * at most once per endpoint call. The same facts are always available by polling:
 * {@link TcpConnection#state()}, {@link TcpConnection#readableBytes()},
 * {@link TcpConnection#isInputEnded()}, {@link TcpConnection#writableBytes()} and
 * {@link TcpConnection#error()}.
 */
public interface ConnectionEvents {
    /** The handshake completed (ESTABLISHED). */
    default void onEstablished(TcpConnection c) {}

    /** New bytes can be read, or the peer's FIN was reached (input ended). */
    default void onReadable(TcpConnection c) {}

    /** Space opened in the send buffer. */
    default void onWritable(TcpConnection c) {}

    /**
     * The connection reached CLOSED (or TIME-WAIT, when nothing more can happen for the user).
     * {@code error} is {@code null} for an orderly close.
     */
    default void onClosed(TcpConnection c, TcpError error) {}

    /** No callbacks. */
    ConnectionEvents NONE = new ConnectionEvents() {};
}
