package io.opsec.examples.bench;

import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.tls.TlsProtocol;

/**
 * Connections per second, one after another on one client thread: connect (with the TLS
 * handshake when secured; opsec-stack's connect() returns once security is settled), the server
 * accepts (and completes its handshake), both close. A round of n connections is timed until
 * the server has accepted and closed the last one; the figure is count / total time of the
 * rounds (see {@link #compare}).
 *
 * <p>Kernel sockets run with TCP_NODELAY: BouncyCastle writes each handshake message with its
 * own socket write, and Nagle's algorithm against delayed ACKs otherwise holds a flight for up
 * to 40 ms (we measured about 16 handshakes a second that way, a sixth of what it does without).
 */
final class ConnectRate {
    private ConnectRate() {}

    /** Connections made in rounds on one transport; {@link #round} returns the elapsed nanoseconds. */
    interface Runner extends AutoCloseable {
        long round(int n, long deadlineNanos) throws IOException;

        @Override
        void close();
    }

    /**
     * Rates of two transports measured in alternating blocks (a warm-up of a tenth of the count
     * on each first), so that load from elsewhere on the machine falls on both alike.
     *
     * @return connections per second of {@code a} and of {@code b}
     */
    static double[] compare(Runner a, Runner b, int count, long deadlineNanos) throws IOException {
        int warm = Math.max(1, count / 10);
        a.round(warm, deadlineNanos);
        b.round(warm, deadlineNanos);
        int blocks = Math.min(5, count);
        long ta = 0;
        long tb = 0;
        int done = 0;
        for (int i = 0; i < blocks; i++) {
            int n = (count - done) / (blocks - i);
            ta += a.round(n, deadlineNanos);
            tb += b.round(n, deadlineNanos);
            done += n;
        }
        return new double[] {count / (ta / 1e9), count / (tb / 1e9)};
    }

    /** Kernel TCP on loopback, with BouncyCastle TLS when {@code suite != PLAIN}. */
    static Runner kernel(int suite) throws IOException {
        ServerSocket ss = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        Loop server = new Loop(() -> {
            Socket s = ss.accept();
            s.setSoTimeout(Endpoints.TIMEOUT_MS);
            s.setTcpNoDelay(true); // see the class comment
            if (suite != Endpoints.PLAIN) {
                TlsProtocol p = BcTls.accept(s, suite);
                p.close();
            }
            s.close();
        });
        IoAction client = () -> {
            Socket c = new Socket();
            c.connect(ss.getLocalSocketAddress(), Endpoints.TIMEOUT_MS);
            c.setSoTimeout(Endpoints.TIMEOUT_MS);
            c.setTcpNoDelay(true);
            if (suite != Endpoints.PLAIN) {
                TlsProtocol p = BcTls.connect(c, suite);
                p.close();
            }
            c.close();
        };
        return runner(server, client, ss);
    }

    /** Two opsec-stacks on a MemoryLink (MTU 1500), plain or secured. */
    static Runner stacks(int suite) throws IOException {
        MemoryLink.Pair wire = MemoryLink.builder().mtu(1500).impairments(Impairments.NONE).build();
        Endpoints.Stacks st = Endpoints.Stacks.on(wire.a(), wire.b(), 1500, suite);
        ServerSocket ss;
        try {
            ss = st.server.serverSocketFactory().createServerSocket(Endpoints.PORT, 512);
        } catch (IOException e) {
            st.close();
            throw e;
        }
        Loop server = new Loop(() -> ss.accept().close());
        InetSocketAddress to = new InetSocketAddress(Endpoints.SERVER, Endpoints.PORT);
        IoAction client = () -> {
            Socket c = st.client.socketFactory().createSocket();
            c.connect(to, Endpoints.TIMEOUT_MS);
            c.close();
        };
        return runner(server, client, () -> {
            Endpoints.quietly(ss);
            st.close();
        });
    }

    private static Runner runner(Loop server, IoAction client, AutoCloseable resources) {
        return new Runner() {
            @Override
            public long round(int n, long deadlineNanos) throws IOException {
                long start = System.nanoTime();
                ConnectRate.round(server, n, deadlineNanos, client);
                return System.nanoTime() - start;
            }

            @Override
            public void close() {
                Endpoints.quietly(resources);
            }
        };
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /** The server side: runs its action a given number of times on its own thread. */
    private static final class Loop {
        private final IoAction action;

        Loop(IoAction action) {
            this.action = action;
        }

        CompletableFuture<Void> times(int n) {
            return CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        action.run();
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
    }

    private static void round(Loop server, int n, long deadlineNanos, IoAction client) throws IOException {
        CompletableFuture<Void> served = server.times(n);
        for (int i = 0; i < n; i++) {
            if (System.nanoTime() > deadlineNanos) {
                served.cancel(true);
                throw new IOException("connection rate over its time budget after " + i + " connections");
            }
            client.run();
        }
        try {
            served.get(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (Exception e) {
            throw new IOException("server side did not finish: " + e, e);
        }
    }
}
