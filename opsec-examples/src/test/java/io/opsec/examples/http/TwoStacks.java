package io.opsec.examples.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.MemoryLink;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.net.SocketFactory;

/**
 * Two hosts on an in-memory cable, as in the README: a client stack at 198.18.0.1 and a server
 * stack at 198.18.0.2. Every socket either side's HTTP library uses is recorded, so a test can
 * check afterwards, through the very sockets the library had, that each connection was secured
 * and that both ends of it agree on the session id.
 */
final class TwoStacks implements AutoCloseable {
    static final String CLIENT = "198.18.0.1";
    static final String SERVER = "198.18.0.2";

    final OpsecStack client;
    final OpsecStack server;
    /** Sockets the client library created through {@link #clientSockets()}. */
    final List<Socket> clientSockets = new CopyOnWriteArrayList<>();
    /** Sockets the server library accepted (recorded by the test through the library's own hook). */
    final List<Socket> serverSockets = new CopyOnWriteArrayList<>();

    TwoStacks() {
        MemoryLink.Pair wire = MemoryLink.pair();
        client = OpsecStack.builder().name("http-client").address(CLIENT).link(wire.a()).build();
        server = OpsecStack.builder().name("http-server").address(SERVER).link(wire.b()).build();
    }

    static InetAddress serverAddress() {
        try {
            return InetAddress.getByAddress("server.opsec", new byte[] {(byte) 198, 18, 0, 2});
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The client stack's socket factory, recording every socket it makes. */
    SocketFactory clientSockets() {
        SocketFactory f = client.socketFactory();
        return new SocketFactory() {
            @Override
            public Socket createSocket() throws IOException {
                return record(f.createSocket());
            }

            @Override
            public Socket createSocket(String host, int port) throws IOException {
                return record(f.createSocket(host, port));
            }

            @Override
            public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
                return record(f.createSocket(host, port, localHost, localPort));
            }

            @Override
            public Socket createSocket(InetAddress host, int port) throws IOException {
                return record(f.createSocket(host, port));
            }

            @Override
            public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                    throws IOException {
                return record(f.createSocket(address, port, localAddress, localPort));
            }

            private Socket record(Socket s) {
                clientSockets.add(s);
                return s;
            }
        };
    }

    /**
     * Checks that the library made at least {@code minConnections} connections, every one
     * secured at both ends, and that the server accepted exactly the connections the client made
     * (the same session ids on both sides).
     */
    void assertEveryConnectionSecured(int minConnections) {
        List<Socket> connected = clientSockets.stream().filter(Socket::isConnected).toList();
        assertTrue(connected.size() >= minConnections,
                "expected at least " + minConnections + " connections, the client made " + connected.size());
        for (Socket s : connected) {
            assertTrue(((OpsecSocket) s).security().isSecured(), "client socket " + s);
        }
        for (Socket s : serverSockets) {
            assertTrue(((OpsecSocket) s).security().isSecured(), "server socket " + s);
        }
        assertEquals(sessionIds(connected), sessionIds(serverSockets),
                "each connection's two ends export the same session id");
        assertEquals(connected.size(), sessionIds(connected).size(), "a fresh session per connection");
    }

    private static Set<String> sessionIds(List<Socket> sockets) {
        return sockets.stream().map(s -> ((OpsecSocket) s).security().sessionIdHex().orElseThrow())
                .collect(Collectors.toSet());
    }

    /** One request of the schedule: number {@code i}, asking the server to close after it if {@code close}. */
    interface Exchange {
        void run(int i, boolean close) throws IOException;
    }

    /**
     * The 200-request schedule both HTTP tests run: 100 one after another on kept-alive
     * connections, a fresh connection after every tenth ({@code Connection: close}), then 100
     * more from four threads at once, which makes the library open more connections.
     */
    static void twoHundredRequests(Exchange exchange) throws Exception {
        for (int i = 0; i < 100; i++) {
            exchange.run(i, i % 10 == 9);
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = 100 + t * 25;
                done.add(pool.submit(() -> {
                    for (int i = first; i < first + 25; i++) {
                        exchange.run(i, false);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code size} pseudo-random bytes from {@code seed}: request and response bodies. */
    static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Override
    public void close() {
        client.close();
        server.close();
    }
}
