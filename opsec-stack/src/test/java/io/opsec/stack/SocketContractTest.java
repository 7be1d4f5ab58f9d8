package io.opsec.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.link.Middleboxes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The java.net contract of {@link OpsecSocket} and {@link OpsecServerSocket}, between two stacks
 * on a MemoryLink, on real threads and real time (this is the runtime, not the pure core). No
 * security protocol is installed in this module, so connections here are plain; the secured
 * versions run in opsec-tls.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SocketContractTest {
    private static final String A = "198.18.0.1";
    private static final String B = "198.18.0.2";

    private MemoryLink.Pair wire;
    private OpsecStack a;
    private OpsecStack b;

    @BeforeEach
    void setUp() {
        wire = MemoryLink.pair();
        a = OpsecStack.builder().name("a").address(A).link(wire.a()).build();
        b = OpsecStack.builder().name("b").address(B).link(wire.b()).build();
    }

    @AfterEach
    void tearDown() {
        a.close();
        b.close();
    }

    private ServerSocket listen(int port) throws IOException {
        return b.serverSocketFactory().createServerSocket(port);
    }

    private static CompletableFuture<Socket> acceptAsync(ServerSocket ss) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return ss.accept();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void unconnectedSocket_connectWithTimeout_exchangesBytesBothWays() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket();
            assertFalse(c.isConnected());
            assertFalse(c.isBound());
            c.connect(new InetSocketAddress(B, 7), 10_000);
            try (c; Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                assertTrue(c.isConnected());
                assertTrue(c.isBound());
                c.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                byte[] got = new byte[4];
                readFully(s.getInputStream(), got);
                assertEquals("ping", new String(got, StandardCharsets.US_ASCII));
                s.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
                readFully(c.getInputStream(), got);
                assertEquals("pong", new String(got, StandardCharsets.US_ASCII));
                assertTrue(c instanceof OpsecSocket);
                assertFalse(((OpsecSocket) c).security().isSecured());
            }
        }
    }

    @Test
    void addresses_andEphemeralPorts_agreeOnBothEnds() throws Exception {
        try (ServerSocket ss = listen(8080)) {
            assertEquals(8080, ss.getLocalPort());
            assertEquals(InetAddress.getByName(B), ss.getInetAddress());
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 8080); Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                assertTrue(c.getLocalPort() >= 49152, "ephemeral port " + c.getLocalPort());
                assertEquals(c.getLocalPort(), s.getPort());
                assertEquals(8080, c.getPort());
                assertEquals(8080, s.getLocalPort());
                assertEquals(InetAddress.getByName(A), s.getInetAddress());
                assertEquals(InetAddress.getByName(A), c.getLocalAddress());
                assertEquals(new InetSocketAddress(B, 8080), c.getRemoteSocketAddress());
                assertEquals(new InetSocketAddress(A, c.getLocalPort()), c.getLocalSocketAddress());
                assertNull(c.getChannel());
                assertNull(ss.getChannel());
            }
        }
    }

    @Test
    void bindThenConnect_usesTheBoundPort() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket();
            c.bind(new InetSocketAddress(A, 40000));
            assertTrue(c.isBound());
            assertEquals(40000, c.getLocalPort());
            c.connect(new InetSocketAddress(B, 7));
            try (c; Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                assertEquals(40000, s.getPort());
            }
        }
    }

    @Test
    void listeningTwiceOnAPort_isABindException() throws Exception {
        try (ServerSocket ss = listen(9)) {
            BindException e = assertThrows(BindException.class, () -> listen(9));
            assertEquals("Address already in use", e.getMessage());
        }
    }

    @Test
    void bindToAForeignAddress_isABindException() throws Exception {
        Socket c = a.socketFactory().createSocket();
        assertThrows(BindException.class, () -> c.bind(new InetSocketAddress("198.18.0.77", 0)));
        c.close();
    }

    @Test
    void connectToAPortWithoutListener_isConnectionRefused() {
        ConnectException e = assertThrows(ConnectException.class, () -> a.socketFactory().createSocket(B, 1234));
        assertEquals("Connection refused", e.getMessage());
    }

    @Test
    void connectIntoABlackHole_timesOut() throws Exception {
        wire.aToB().middlebox(Middleboxes.drop(seg -> true));
        Socket c = a.socketFactory().createSocket();
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class,
                () -> c.connect(new InetSocketAddress(B, 7), 300));
        assertEquals("Connect timed out", e.getMessage());
        assertTrue(c.isClosed());
    }

    @Test
    void soTimeout_readTimesOut_andTheSocketStillWorks() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                c.setSoTimeout(100);
                assertEquals(100, c.getSoTimeout());
                SocketTimeoutException e = assertThrows(SocketTimeoutException.class, () -> c.getInputStream().read());
                assertEquals("Read timed out", e.getMessage());
                s.getOutputStream().write(42);
                c.setSoTimeout(10_000);
                assertEquals(42, c.getInputStream().read());
            }
        }
    }

    @Test
    void acceptTimeout_isASocketTimeoutException() throws Exception {
        try (ServerSocket ss = listen(7)) {
            ss.setSoTimeout(100);
            assertThrows(SocketTimeoutException.class, ss::accept);
            assertFalse(ss.isClosed());
        }
    }

    @Test
    void shutdownOutput_peerReadsEndOfStream_butCanStillAnswer() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                c.getOutputStream().write(new byte[] {1, 2, 3});
                c.shutdownOutput();
                assertTrue(c.isOutputShutdown());
                assertThrows(SocketException.class, () -> c.getOutputStream());
                assertArrayEquals(new byte[] {1, 2, 3}, s.getInputStream().readAllBytes());
                s.getOutputStream().write(new byte[] {9});
                s.shutdownOutput();
                assertArrayEquals(new byte[] {9}, c.getInputStream().readAllBytes());
            }
        }
    }

    @Test
    void shutdownInput_readsEndOfStream() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                InputStream in = c.getInputStream();
                c.shutdownInput();
                assertTrue(c.isInputShutdown());
                assertEquals(-1, in.read());
                assertEquals(0, in.available());
            }
        }
    }

    @Test
    void gracefulClose_deliversEverythingThenEndOfStream() throws Exception {
        byte[] data = new byte[300_000];
        new Random(7).nextBytes(data);
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket(B, 7);
            try (Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
                    try {
                        return s.getInputStream().readAllBytes();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                c.getOutputStream().write(data);
                c.close();
                assertTrue(c.isClosed());
                assertArrayEquals(data, read.get(30, TimeUnit.SECONDS));
            }
        }
    }

    @Test
    void lingerZero_resetsThePeer() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket(B, 7);
            try (Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                c.setSoLinger(true, 0);
                assertEquals(0, c.getSoLinger());
                c.close();
                s.setSoTimeout(10_000);
                SocketException e = assertThrows(SocketException.class, () -> s.getInputStream().read());
                assertEquals("Connection reset", e.getMessage());
            }
        }
    }

    @Test
    void available_countsBytesReadableWithoutBlocking() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                s.getOutputStream().write(new byte[10]);
                c.setSoTimeout(10_000);
                assertEquals(0, c.getInputStream().read()); // wait for the first byte
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (c.getInputStream().available() < 9 && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                assertEquals(9, c.getInputStream().available());
            }
        }
    }

    @Test
    void options_areKeptAndReported() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket();
            c.setTcpNoDelay(true);
            c.setKeepAlive(true);
            c.setSendBufferSize(32 * 1024);
            c.setReceiveBufferSize(64 * 1024);
            c.connect(new InetSocketAddress(B, 7));
            try (c; Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                assertTrue(c.getTcpNoDelay());
                assertTrue(c.getKeepAlive());
                assertEquals(32 * 1024, c.getSendBufferSize());
                assertEquals(64 * 1024, c.getReceiveBufferSize());
                assertEquals(-1, s.getSoLinger());
                assertThrows(IllegalArgumentException.class, () -> c.setSendBufferSize(0));
                assertThrows(IllegalArgumentException.class, () -> c.setSoTimeout(-1));
            }
        }
    }

    @Test
    void closedSocket_reportsItsState_andRefusesStreams() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket(B, 7);
            accepted.get(10, TimeUnit.SECONDS).close();
            c.close();
            assertTrue(c.isClosed());
            assertTrue(c.isConnected()); // as the JDK: a closed socket stays "connected"
            SocketException e = assertThrows(SocketException.class, c::getInputStream);
            assertEquals("Socket is closed", e.getMessage());
            c.close(); // idempotent
        }
    }

    @Test
    void readerAndWriterThreads_areUnblockedByCloseFromAThird() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket();
            c.setSendBufferSize(4096);
            c.connect(new InetSocketAddress(B, 7));
            try (Socket s = accepted.get(10, TimeUnit.SECONDS)) {
                InputStream in = c.getInputStream();
                OutputStream out = c.getOutputStream();
                CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
                    try {
                        in.read();
                        return null;
                    } catch (IOException e) {
                        return e;
                    }
                });
                CompletableFuture<Throwable> writer = CompletableFuture.supplyAsync(() -> {
                    try {
                        byte[] chunk = new byte[64 * 1024];
                        for (int i = 0; i < 1000; i++) {
                            out.write(chunk); // the peer never reads: this blocks
                        }
                        return null;
                    } catch (IOException e) {
                        return e;
                    }
                });
                CompletableFuture.runAsync(() -> {
                    try {
                        c.close();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                }).get(10, TimeUnit.SECONDS);
                assertEquals("Socket closed", reader.get(10, TimeUnit.SECONDS).getMessage());
                assertEquals("Socket closed", writer.get(10, TimeUnit.SECONDS).getMessage());
            }
        }
    }

    @Test
    void closingTheServerSocket_failsABlockedAccept() throws Exception {
        ServerSocket ss = listen(7);
        CompletableFuture<Throwable> acceptor = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                ss.accept();
                acceptor.complete(null);
            } catch (IOException e) {
                acceptor.complete(e);
            }
        });
        t.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.onSpinWait(); // until the acceptor is really blocked
        }
        CompletableFuture.runAsync(() -> {
            try {
                ss.close();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).get(10, TimeUnit.SECONDS);
        assertEquals("Socket closed", acceptor.get(10, TimeUnit.SECONDS).getMessage());
        assertTrue(ss.isClosed());
    }

    @Test
    void manyConnections_getDistinctEphemeralPorts() throws Exception {
        try (ServerSocket ss = listen(7)) {
            CompletableFuture<Void> acceptor = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 20; i++) {
                        ss.accept().close();
                    }
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            int previous = -1;
            for (int i = 0; i < 20; i++) {
                try (Socket c = a.socketFactory().createSocket(B, 7)) {
                    assertNotEquals(previous, c.getLocalPort());
                    previous = c.getLocalPort();
                }
            }
            acceptor.get(30, TimeUnit.SECONDS);
        }
    }

    private static void readFully(InputStream in, byte[] b) throws IOException {
        int off = 0;
        while (off < b.length) {
            int n = in.read(b, off, b.length - off);
            if (n < 0) {
                throw new IOException("end of stream after " + off);
            }
            off += n;
        }
    }
}
