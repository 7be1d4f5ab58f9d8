package io.opsec.stack;

import io.opsec.stack.opsec.OpsecMode;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * What the socket classes need from a stack; implemented by {@link OpsecStack}'s runtime. Every
 * method may be called from any application thread and may block; none touches TCP state
 * directly (the runtime hands the work to its event loop).
 */
interface Backend {

    /** This host's address. */
    InetSocketAddress localAddress(int port);

    /**
     * Reserves a local port for a socket that binds before it connects.
     *
     * @param port the port, or 0 for an ephemeral one
     * @return the reserved port
     * @throws java.net.BindException when the port is in use
     */
    int reservePort(int port) throws IOException;

    /** Frees a reservation made by {@link #reservePort} that was not used by a connection. */
    void releasePort(int port);

    /**
     * Opens a connection and waits until it is established and its security is settled (secured
     * with the handshake complete, or plain).
     *
     * @param localPort a port reserved with {@link #reservePort}, or 0 for an ephemeral one
     * @param timeoutMillis 0 for the stack's own limits (SYN retries)
     * @throws java.net.ConnectException "Connection refused" on a RST, or a timeout
     */
    Conn connect(int localPort, InetSocketAddress remote, int timeoutMillis, Settings settings) throws IOException;

    /** Starts listening. @throws java.net.BindException when the port is in use */
    Listener listen(int port, int backlog, Settings settings) throws IOException;

    /** Per-socket settings, fixed when the connection or listener is created. */
    record Settings(OpsecMode mode, boolean noDelay, boolean keepAlive, int sendBufferSize, int receiveBufferSize) {
        static Settings defaults() {
            return new Settings(null, false, false, 0, 0);
        }
    }

    /** One established connection, as the socket sees it. */
    interface Conn {
        /** Plaintext from the peer, for the application to read. */
        ByteStream inbound();

        /** Plaintext from the application, for the stack to send. */
        ByteStream outbound();

        InetSocketAddress localAddress();

        InetSocketAddress remoteAddress();

        SecurityStatus security();

        /** Sends everything written so far, then ends this direction (TLS close_notify, then FIN). */
        void shutdownOutput();

        /** Stops delivering input; later input is discarded (and acknowledged). */
        void shutdownInput();

        /** Graceful close (queued data, close_notify, FIN) or, with {@code reset}, an immediate RST. */
        void close(boolean reset);

        void setNoDelay(boolean on);

        void setKeepAlive(boolean on);
    }

    /** A listening port. */
    interface Listener {
        /** Waits for the next established connection. @throws java.net.SocketTimeoutException after the timeout */
        Conn accept(int timeoutMillis) throws IOException;

        int port();

        /** Stops listening: pending connections are reset, blocked accepts fail with "Socket closed". */
        void close();
    }
}
