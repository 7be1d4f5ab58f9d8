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
 * accepts (and completes its handshake), both close. A warm-up of a tenth of the count first.
 * The figure is count / elapsed, until the server has accepted and closed the last one.
 *
 * <p>Kernel sockets run with TCP_NODELAY: BouncyCastle writes each handshake message with its
 * own socket write, and Nagle's algorithm against delayed ACKs otherwise holds a flight for up
 * to 40 ms (we measured about 16 handshakes a second that way, a sixth of what it does without).
 */
final class ConnectRate {
    private ConnectRate() {}

    /** Kernel TCP on loopback, with BouncyCastle TLS when {@code suite != PLAIN}. */
    static double kernel(int suite, int count, long deadlineNanos) throws IOException {
        try (ServerSocket ss = new ServerSocket(0, 512, InetAddress.getLoopbackAddress())) {
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
            return measure(server, count, deadlineNanos, () -> {
                Socket c = new Socket();
                c.connect(ss.getLocalSocketAddress(), Endpoints.TIMEOUT_MS);
                c.setSoTimeout(Endpoints.TIMEOUT_MS);
                c.setTcpNoDelay(true);
                if (suite != Endpoints.PLAIN) {
                    TlsProtocol p = BcTls.connect(c, suite);
                    p.close();
                }
                c.close();
            });
        }
    }

    /** Two opsec-stacks on a MemoryLink (MTU 1500), plain or secured. */
    static double stacks(int suite, int count, long deadlineNanos) throws IOException {
        MemoryLink.Pair wire = MemoryLink.builder().mtu(1500).impairments(Impairments.NONE).build();
        try (Endpoints.Stacks st = Endpoints.Stacks.on(wire.a(), wire.b(), 1500, suite);
             ServerSocket ss = st.server.serverSocketFactory().createServerSocket(Endpoints.PORT, 512)) {
            Loop server = new Loop(() -> ss.accept().close());
            InetSocketAddress to = new InetSocketAddress(Endpoints.SERVER, Endpoints.PORT);
            return measure(server, count, deadlineNanos, () -> {
                Socket c = st.client.socketFactory().createSocket();
                c.connect(to, Endpoints.TIMEOUT_MS);
                c.close();
            });
        }
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

    private static double measure(Loop server, int count, long deadlineNanos, IoAction client) throws IOException {
        int warm = Math.max(1, count / 10);
        round(server, warm, deadlineNanos, client);
        long start = System.nanoTime();
        round(server, count, deadlineNanos, client);
        return count / ((System.nanoTime() - start) / 1e9);
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
