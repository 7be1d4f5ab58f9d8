package io.opsec.stack;

import io.opsec.stack.opsec.OpsecMode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.UnknownHostException;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link Socket} whose TCP runs in an {@link OpsecStack} rather than the kernel, with OPSEC
 * negotiated in the handshake and, when both ends agree, TLS underneath. Applications use it as
 * any socket; {@link #security()} tells whether the connection is secured.
 *
 * <p>It keeps the java.net contract that libraries rely on: unconnected sockets and
 * {@code connect(address, timeout)}, bind and ephemeral ports, {@code SO_TIMEOUT} (a
 * {@link java.net.SocketTimeoutException} after which the socket still works), half-close,
 * graceful {@code close} (or a reset with {@code setSoLinger(true, 0)}), and the JDK's exceptions
 * and messages ("Connection refused", "Connection reset", "Socket closed"). One reader thread and
 * one writer thread may use it at once; {@code close()} from a third thread unblocks both.
 * {@link #getChannel()} is {@code null}: there is no NIO channel.
 */
public final class OpsecSocket extends Socket {
    private final Backend backend;
    private final Object stateLock = new Object();
    private volatile Backend.Conn conn;
    private volatile boolean closed;
    private volatile boolean inputShutdown;
    private volatile boolean outputShutdown;
    private int boundPort = -1;
    private volatile int soTimeout;
    private boolean noDelay;
    private boolean keepAlive;
    private int linger = -1;
    private int sendBufferSize;
    private int receiveBufferSize;
    private int trafficClass;
    private boolean reuseAddress;
    private boolean oobInline;
    private OpsecMode mode;
    private InputStream in;
    private OutputStream out;

    OpsecSocket(Backend backend) throws SocketException {
        super((SocketImpl) null);
        this.backend = Objects.requireNonNull(backend);
    }

    /** A socket for a connection a listener accepted. */
    static OpsecSocket accepted(Backend backend, Backend.Conn conn) throws SocketException {
        OpsecSocket s = new OpsecSocket(backend);
        s.conn = conn;
        s.boundPort = conn.localAddress().getPort();
        return s;
    }

    // ------------------------------------------------------------------ OPSEC

    /**
     * The connection's security: secured (protocol, suite, session id) or plain and why; pending
     * before the connection is established.
     */
    public SecurityStatus security() {
        Backend.Conn c = conn;
        return c == null ? SecurityStatus.pending("not connected") : c.security();
    }

    /**
     * Sets this socket's OPSEC mode (OFF, OPPORTUNISTIC, REQUIRED), overriding the stack's per-port
     * policy. Takes effect at {@link #connect}.
     *
     * @throws SocketException when already connected
     */
    public void setOpsecMode(OpsecMode mode) throws SocketException {
        synchronized (stateLock) {
            if (conn != null) {
                throw new SocketException("OPSEC mode must be set before connecting");
            }
            this.mode = mode;
        }
    }

    /** The mode set with {@link #setOpsecMode}, or {@code null} when the stack's policy applies. */
    public OpsecMode getOpsecMode() {
        return mode;
    }

    // ------------------------------------------------------------------ connecting

    @Override
    public void connect(SocketAddress endpoint) throws IOException {
        connect(endpoint, 0);
    }

    @Override
    public void connect(SocketAddress endpoint, int timeout) throws IOException {
        if (endpoint == null) {
            throw new IllegalArgumentException("connect: The address can't be null");
        }
        if (timeout < 0) {
            throw new IllegalArgumentException("connect: timeout can't be negative");
        }
        if (!(endpoint instanceof InetSocketAddress remote)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        if (remote.isUnresolved()) {
            throw new UnknownHostException(remote.getHostName());
        }
        if (!(remote.getAddress() instanceof java.net.Inet4Address)) {
            throw new SocketException("Protocol family unavailable");
        }
        Backend.Settings settings;
        int localPort;
        synchronized (stateLock) {
            if (closed) {
                throw new SocketException("Socket is closed");
            }
            if (conn != null) {
                throw new SocketException("already connected");
            }
            localPort = Math.max(boundPort, 0);
            settings = new Backend.Settings(mode, noDelay, keepAlive, sendBufferSize, receiveBufferSize);
        }
        Backend.Conn c;
        try {
            c = backend.connect(localPort, remote, timeout, settings);
        } catch (IOException e) {
            synchronized (stateLock) {
                closeLocked();
            }
            throw e;
        }
        synchronized (stateLock) {
            if (closed) {
                c.close(true);
                throw new SocketException("Socket closed");
            }
            conn = c;
            boundPort = c.localAddress().getPort();
        }
    }

    @Override
    public void bind(SocketAddress bindpoint) throws IOException {
        if (bindpoint != null && !(bindpoint instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        InetSocketAddress local = (InetSocketAddress) bindpoint;
        synchronized (stateLock) {
            if (closed) {
                throw new SocketException("Socket is closed");
            }
            if (boundPort >= 0 || conn != null) {
                throw new SocketException("Already bound");
            }
            if (local != null) {
                if (local.isUnresolved()) {
                    throw new SocketException("Unresolved address");
                }
                InetAddress a = local.getAddress();
                if (!a.isAnyLocalAddress() && !a.equals(backend.localAddress(0).getAddress())) {
                    throw new java.net.BindException("Cannot assign requested address");
                }
            }
            boundPort = backend.reservePort(local == null ? 0 : local.getPort());
        }
    }

    // ------------------------------------------------------------------ streams

    @Override
    public InputStream getInputStream() throws IOException {
        synchronized (stateLock) {
            checkOpenAndConnected();
            if (inputShutdown) {
                throw new SocketException("Socket input is shutdown");
            }
            if (in == null) {
                in = new In();
            }
            return in;
        }
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        synchronized (stateLock) {
            checkOpenAndConnected();
            if (outputShutdown) {
                throw new SocketException("Socket output is shutdown");
            }
            if (out == null) {
                out = new Out();
            }
            return out;
        }
    }

    private void checkOpenAndConnected() throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        if (conn == null) {
            throw new SocketException("Socket is not connected");
        }
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (closed) {
                throw new SocketException("Socket closed");
            }
            if (inputShutdown) {
                return -1;
            }
            try {
                int n = conn.inbound().read(b, off, len, soTimeout);
                return inputShutdown && n > 0 ? -1 : n;
            } catch (SocketException e) {
                if (inputShutdown && !closed) {
                    return -1;
                }
                throw e;
            }
        }

        @Override
        public int available() throws IOException {
            if (closed) {
                throw new SocketException("Socket closed");
            }
            return inputShutdown ? 0 : conn.inbound().available();
        }

        @Override
        public void close() throws IOException {
            OpsecSocket.this.close();
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Objects.checkFromIndexSize(off, len, b.length);
            if (closed) {
                throw new SocketException("Socket closed");
            }
            try {
                conn.outbound().write(b, off, len, 0);
            } catch (SocketException e) {
                if (closed) {
                    throw new SocketException("Socket closed");
                }
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            OpsecSocket.this.close();
        }
    }

    // ------------------------------------------------------------------ closing

    @Override
    public void close() throws IOException {
        synchronized (stateLock) {
            closeLocked();
        }
    }

    private void closeLocked() {
        if (closed) {
            return;
        }
        closed = true;
        Backend.Conn c = conn;
        if (c != null) {
            // setSoLinger(true, 0): abortive close, RST (RFC 9293 §3.10.5 ABORT). Otherwise the
            // queued bytes still go, then TLS close_notify and FIN.
            c.close(linger == 0);
        } else if (boundPort > 0) {
            backend.releasePort(boundPort);
        }
    }

    @Override
    public void shutdownInput() throws IOException {
        synchronized (stateLock) {
            checkOpenAndConnected();
            if (inputShutdown) {
                throw new SocketException("Socket input is already shutdown");
            }
            inputShutdown = true;
            conn.shutdownInput();
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        synchronized (stateLock) {
            checkOpenAndConnected();
            if (outputShutdown) {
                throw new SocketException("Socket output is already shutdown");
            }
            outputShutdown = true;
            conn.shutdownOutput();
        }
    }

    // ------------------------------------------------------------------ state and addresses

    @Override
    public boolean isConnected() {
        return conn != null;
    }

    @Override
    public boolean isBound() {
        synchronized (stateLock) {
            return boundPort >= 0 || conn != null;
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public boolean isInputShutdown() {
        return inputShutdown;
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown;
    }

    @Override
    public InetAddress getInetAddress() {
        Backend.Conn c = conn;
        return c == null ? null : c.remoteAddress().getAddress();
    }

    @Override
    public int getPort() {
        Backend.Conn c = conn;
        return c == null ? 0 : c.remoteAddress().getPort();
    }

    @Override
    public InetAddress getLocalAddress() {
        return backend.localAddress(0).getAddress();
    }

    @Override
    public int getLocalPort() {
        synchronized (stateLock) {
            return boundPort;
        }
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        Backend.Conn c = conn;
        return c == null ? null : c.remoteAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        synchronized (stateLock) {
            return boundPort < 0 ? null : backend.localAddress(boundPort);
        }
    }

    /** Always {@code null}: this socket has no NIO channel. */
    @Override
    public SocketChannel getChannel() {
        return null;
    }

    // ------------------------------------------------------------------ options

    private void checkOpen() throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        checkOpen();
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout can't be negative");
        }
        soTimeout = timeout;
    }

    @Override
    public int getSoTimeout() throws SocketException {
        checkOpen();
        return soTimeout;
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        synchronized (stateLock) {
            checkOpen();
            noDelay = on;
            if (conn != null) {
                conn.setNoDelay(on);
            }
        }
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        checkOpen();
        return noDelay;
    }

    @Override
    public void setKeepAlive(boolean on) throws SocketException {
        synchronized (stateLock) {
            checkOpen();
            keepAlive = on;
            if (conn != null) {
                conn.setKeepAlive(on);
            }
        }
    }

    @Override
    public boolean getKeepAlive() throws SocketException {
        checkOpen();
        return keepAlive;
    }

    @Override
    public void setSoLinger(boolean on, int seconds) throws SocketException {
        checkOpen();
        if (on && seconds < 0) {
            throw new IllegalArgumentException("invalid value for SO_LINGER");
        }
        linger = on ? Math.min(seconds, 65535) : -1;
    }

    @Override
    public int getSoLinger() throws SocketException {
        checkOpen();
        return linger;
    }

    @Override
    public void setSendBufferSize(int size) throws SocketException {
        checkOpen();
        if (size <= 0) {
            throw new IllegalArgumentException("negative send size");
        }
        sendBufferSize = size;
    }

    @Override
    public int getSendBufferSize() throws SocketException {
        checkOpen();
        return sendBufferSize > 0 ? sendBufferSize : OpsecStack.DEFAULT_SOCKET_BUFFER;
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        checkOpen();
        if (size <= 0) {
            throw new IllegalArgumentException("invalid receive size");
        }
        receiveBufferSize = size;
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        checkOpen();
        return receiveBufferSize > 0 ? receiveBufferSize : OpsecStack.DEFAULT_SOCKET_BUFFER;
    }

    @Override
    public void setTrafficClass(int tc) throws SocketException {
        checkOpen();
        if (tc < 0 || tc > 255) {
            throw new IllegalArgumentException("tc is not in range 0 -- 255");
        }
        trafficClass = tc;
    }

    @Override
    public int getTrafficClass() throws SocketException {
        checkOpen();
        return trafficClass;
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        checkOpen();
        reuseAddress = on;
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        checkOpen();
        return reuseAddress;
    }

    @Override
    public void setOOBInline(boolean on) throws SocketException {
        checkOpen();
        oobInline = on;
    }

    @Override
    public boolean getOOBInline() throws SocketException {
        checkOpen();
        return oobInline;
    }

    /** Not supported: the stack receives urgent data safely but never sends it. */
    @Override
    public void sendUrgentData(int data) throws IOException {
        throw new SocketException("Urgent data not supported");
    }

    @Override
    public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        // No effect, as the JDK's own sockets.
    }

    @Override
    public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
        Objects.requireNonNull(name, "name");
        if (name == StandardSocketOptions.TCP_NODELAY) {
            setTcpNoDelay((Boolean) value);
        } else if (name == StandardSocketOptions.SO_KEEPALIVE) {
            setKeepAlive((Boolean) value);
        } else if (name == StandardSocketOptions.SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (name == StandardSocketOptions.SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (name == StandardSocketOptions.SO_LINGER) {
            int v = (Integer) value;
            setSoLinger(v >= 0, Math.max(v, 0));
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (name == StandardSocketOptions.IP_TOS) {
            setTrafficClass((Integer) value);
        } else {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getOption(SocketOption<T> name) throws IOException {
        Objects.requireNonNull(name, "name");
        if (name == StandardSocketOptions.TCP_NODELAY) {
            return (T) Boolean.valueOf(getTcpNoDelay());
        } else if (name == StandardSocketOptions.SO_KEEPALIVE) {
            return (T) Boolean.valueOf(getKeepAlive());
        } else if (name == StandardSocketOptions.SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        } else if (name == StandardSocketOptions.SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        } else if (name == StandardSocketOptions.SO_LINGER) {
            return (T) Integer.valueOf(getSoLinger());
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            return (T) Boolean.valueOf(getReuseAddress());
        } else if (name == StandardSocketOptions.IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        throw new UnsupportedOperationException("'" + name + "' not supported");
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return Set.of(StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.SO_KEEPALIVE,
                StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_LINGER,
                StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.IP_TOS);
    }

    @Override
    public String toString() {
        Backend.Conn c = conn;
        if (c == null) {
            return "OpsecSocket[unconnected]";
        }
        return "OpsecSocket[addr=" + c.remoteAddress().getAddress() + ",port=" + c.remoteAddress().getPort()
                + ",localport=" + c.localAddress().getPort() + "," + c.security() + "]";
    }
}
