package io.opsec.examples.bench;

import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.tls.TlsSecurityProtocol;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.tls.TlsProtocol;

/**
 * The transports the benchmarks compare, each as a way to get connected client and server
 * sockets: kernel TCP on 127.0.0.1, BouncyCastle TLS over it, and two opsec-stacks in this
 * process joined by a {@link MemoryLink} (plain or secured).
 */
final class Endpoints {
    static final String CLIENT = "198.18.0.1";
    static final String SERVER = "198.18.0.2";
    static final int PORT = 5001;
    /** No TLS: plain TCP. */
    static final int PLAIN = -1;
    /** Bound on any single connect, accept or handshake. */
    static final int TIMEOUT_MS = 30_000;

    private Endpoints() {}

    /** One connection: the client's and the server's streams. */
    interface Connection extends AutoCloseable {
        InputStream clientIn();
        OutputStream clientOut();
        InputStream serverIn();
        OutputStream serverOut();
        @Override void close();
    }

    /** Where connections come from; closing it frees the stacks or the listening socket. */
    interface Factory extends AutoCloseable {
        Connection connect(boolean noDelay) throws IOException;
        @Override void close();
    }

    // ------------------------------------------------------------------ kernel

    /** Kernel TCP over loopback, with BouncyCastle TLS on top when {@code suite != PLAIN}. */
    static Factory kernel(int suite) throws IOException {
        ServerSocket ss = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        return new Factory() {
            @Override
            public Connection connect(boolean noDelay) throws IOException {
                CompletableFuture<Object[]> accepted = CompletableFuture.supplyAsync(() -> {
                    try {
                        Socket s = ss.accept();
                        s.setTcpNoDelay(noDelay);
                        s.setSoTimeout(TIMEOUT_MS);
                        TlsProtocol p = suite == PLAIN ? null : BcTls.accept(s, suite);
                        return new Object[] {s, p};
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
                Socket c = new Socket();
                c.connect(ss.getLocalSocketAddress(), TIMEOUT_MS);
                c.setTcpNoDelay(noDelay);
                c.setSoTimeout(TIMEOUT_MS);
                TlsProtocol cp = suite == PLAIN ? null : BcTls.connect(c, suite);
                Object[] server = join(accepted);
                Socket s = (Socket) server[0];
                TlsProtocol sp = (TlsProtocol) server[1];
                return new Connection() {
                    public InputStream clientIn() { return uncheck(() -> cp == null ? c.getInputStream() : cp.getInputStream()); }
                    public OutputStream clientOut() { return uncheck(() -> cp == null ? c.getOutputStream() : cp.getOutputStream()); }
                    public InputStream serverIn() { return uncheck(() -> sp == null ? s.getInputStream() : sp.getInputStream()); }
                    public OutputStream serverOut() { return uncheck(() -> sp == null ? s.getOutputStream() : sp.getOutputStream()); }
                    public void close() { quietly(c); quietly(s); }
                };
            }

            @Override
            public void close() {
                quietly(ss);
            }
        };
    }

    // ------------------------------------------------------------------ opsec-stack

    /** Two stacks on a MemoryLink of {@code mtu}; secured with {@code suite} unless PLAIN. */
    static Factory stacks(int mtu, int suite, Impairments impairments) throws IOException {
        MemoryLink.Pair wire = MemoryLink.builder().mtu(mtu).impairments(impairments).seed(8).build();
        Stacks st = Stacks.on(wire.a(), wire.b(), mtu, suite);
        ServerSocket ss = st.server.serverSocketFactory().createServerSocket(PORT, 128);
        return new Factory() {
            @Override
            public Connection connect(boolean noDelay) throws IOException {
                CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
                    try {
                        Socket s = ss.accept();
                        s.setTcpNoDelay(noDelay);
                        s.setSoTimeout(TIMEOUT_MS);
                        return s;
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
                Socket c = st.client.socketFactory().createSocket();
                c.setTcpNoDelay(noDelay);
                c.connect(new InetSocketAddress(SERVER, PORT), TIMEOUT_MS);
                c.setSoTimeout(TIMEOUT_MS);
                Socket s = join(accepted);
                return socketsConnection(c, s);
            }

            @Override
            public void close() {
                quietly(ss);
                st.close();
            }
        };
    }

    static Connection socketsConnection(Socket c, Socket s) {
        return new Connection() {
            public InputStream clientIn() { return uncheck(c::getInputStream); }
            public OutputStream clientOut() { return uncheck(c::getOutputStream); }
            public InputStream serverIn() { return uncheck(s::getInputStream); }
            public OutputStream serverOut() { return uncheck(s::getOutputStream); }
            public void close() { quietly(c); quietly(s); }
        };
    }

    /** A client and a server stack on the two ends of a link. */
    static final class Stacks implements AutoCloseable {
        final OpsecStack client;
        final OpsecStack server;

        private Stacks(OpsecStack client, OpsecStack server) {
            this.client = client;
            this.server = server;
        }

        static Stacks on(io.opsec.stack.link.Link a, io.opsec.stack.link.Link b, int mtu, int suite) {
            return new Stacks(stack(CLIENT, a, mtu, suite), stack(SERVER, b, mtu, suite));
        }

        @Override
        public void close() {
            client.close();
            server.close();
        }
    }

    /** One stack: plain (OPSEC off) or offering only TLS with one cipher suite. */
    static OpsecStack stack(String address, io.opsec.stack.link.Link link, int mtu, int suite) {
        OpsecStack.Builder b = OpsecStack.builder().name("bench-" + address).address(address).link(link)
                .tcp(TcpConfig.builder().mtu(mtu).build());
        if (suite == PLAIN) {
            b.opsecMode(OpsecMode.OFF);
        } else {
            b.opsecMode(OpsecMode.REQUIRED).securityProtocol(TlsSecurityProtocol.builder().cipherSuites(suite).build());
        }
        return b.build();
    }

    // ------------------------------------------------------------------ helpers

    interface IoSupplier<T> {
        T get() throws IOException;
    }

    static <T> T uncheck(IoSupplier<T> s) {
        try {
            return s.get();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static <T> T join(CompletableFuture<T> f) throws IOException {
        try {
            return f.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable t = e.getCause() instanceof IllegalStateException && e.getCause().getCause() != null
                    ? e.getCause().getCause() : e.getCause();
            throw t instanceof IOException io ? io : new IOException(String.valueOf(t), t);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("timed out after " + TIMEOUT_MS + " ms");
        }
    }

    static void quietly(AutoCloseable c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception ignored) {
            // closing after a measurement: nothing useful to do with a failure
        }
    }
}
