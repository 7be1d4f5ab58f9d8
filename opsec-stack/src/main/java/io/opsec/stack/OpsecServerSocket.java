package io.opsec.stack;

import io.opsec.stack.opsec.OpsecMode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.Objects;
import java.util.Set;

/**
 * A {@link ServerSocket} listening in an {@link OpsecStack}. Accepted sockets are
 * {@link OpsecSocket}s whose handshake, OPSEC negotiation and (when agreed) TLS handshake are
 * complete. Honours bind, backlog, {@code SO_TIMEOUT} on accept, and close from another thread
 * (a blocked {@link #accept()} fails with "Socket closed"). {@link #getChannel()} is {@code null}.
 */
public final class OpsecServerSocket extends ServerSocket {
    /** The backlog used when the caller gives none (as the JDK). */
    public static final int DEFAULT_BACKLOG = 50;

    private final Backend backend;
    private final Object stateLock = new Object();
    private volatile Backend.Listener listener;
    private volatile boolean closed;
    private volatile int soTimeout;
    private int receiveBufferSize;
    private boolean reuseAddress = true;
    private OpsecMode mode;

    OpsecServerSocket(Backend backend) throws IOException {
        super(new NoSocketImpl());
        this.backend = Objects.requireNonNull(backend);
    }

    /**
     * Sets the OPSEC mode of connections accepted from now on, overriding the stack's per-port
     * policy; must be called before {@link #bind}.
     */
    public void setOpsecMode(OpsecMode mode) throws SocketException {
        synchronized (stateLock) {
            if (listener != null) {
                throw new SocketException("OPSEC mode must be set before binding");
            }
            this.mode = mode;
        }
    }

    public OpsecMode getOpsecMode() {
        return mode;
    }

    @Override
    public void bind(SocketAddress endpoint) throws IOException {
        bind(endpoint, DEFAULT_BACKLOG);
    }

    @Override
    public void bind(SocketAddress endpoint, int backlog) throws IOException {
        if (endpoint != null && !(endpoint instanceof InetSocketAddress)) {
            throw new IllegalArgumentException("Unsupported address type");
        }
        InetSocketAddress local = (InetSocketAddress) endpoint;
        synchronized (stateLock) {
            if (closed) {
                throw new SocketException("Socket is closed");
            }
            if (listener != null) {
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
            int port = local == null ? 0 : local.getPort();
            Backend.Settings settings = new Backend.Settings(mode, false, false, 0, receiveBufferSize);
            listener = backend.listen(port, backlog < 1 ? DEFAULT_BACKLOG : backlog, settings);
        }
    }

    @Override
    public Socket accept() throws IOException {
        Backend.Listener l;
        synchronized (stateLock) {
            if (closed) {
                throw new SocketException("Socket is closed");
            }
            l = listener;
            if (l == null) {
                throw new SocketException("Socket is not bound yet");
            }
        }
        try {
            return OpsecSocket.accepted(backend, l.accept(soTimeout));
        } catch (SocketException e) {
            if (closed) {
                throw new SocketException("Socket closed");
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
            if (listener != null) {
                listener.close();
            }
        }
    }

    @Override
    public boolean isBound() {
        return listener != null;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public InetAddress getInetAddress() {
        return listener == null ? null : backend.localAddress(0).getAddress();
    }

    @Override
    public int getLocalPort() {
        Backend.Listener l = listener;
        return l == null ? -1 : l.port();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        Backend.Listener l = listener;
        return l == null ? null : backend.localAddress(l.port());
    }

    /** Always {@code null}: there is no NIO channel. */
    @Override
    public ServerSocketChannel getChannel() {
        return null;
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        if (timeout < 0) {
            throw new IllegalArgumentException("timeout < 0");
        }
        soTimeout = timeout;
    }

    @Override
    public int getSoTimeout() throws IOException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        return soTimeout;
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        reuseAddress = on;
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        return reuseAddress;
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        if (size <= 0) {
            throw new IllegalArgumentException("negative receive size");
        }
        receiveBufferSize = size;
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
        return receiveBufferSize > 0 ? receiveBufferSize : OpsecStack.DEFAULT_SOCKET_BUFFER;
    }

    @Override
    public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        // No effect, as the JDK's own sockets.
    }

    @Override
    public <T> ServerSocket setOption(SocketOption<T> name, T value) throws IOException {
        Objects.requireNonNull(name, "name");
        if (name == StandardSocketOptions.SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getOption(SocketOption<T> name) throws IOException {
        Objects.requireNonNull(name, "name");
        if (name == StandardSocketOptions.SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            return (T) Boolean.valueOf(getReuseAddress());
        }
        throw new UnsupportedOperationException("'" + name + "' not supported");
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return Set.of(StandardSocketOptions.SO_RCVBUF, StandardSocketOptions.SO_REUSEADDR);
    }

    @Override
    public String toString() {
        Backend.Listener l = listener;
        return l == null ? "OpsecServerSocket[unbound]"
                : "OpsecServerSocket[addr=" + backend.localAddress(0).getAddress() + ",localport=" + l.port() + "]";
    }
}
