package io.opsec.tls.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.opsec.PlainReason;
import io.opsec.stack.tcp.SynCookieMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two stacks with TLS installed, through their sockets, on real threads: OPSEC negotiated in the
 * handshake, TLS underneath, and the application none the wiser.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SecuredSocketTest {
    private static final String A = "198.18.0.1";
    private static final String B = "198.18.0.2";
    private MemoryLink.Pair wire;
    private OpsecStack a;
    private OpsecStack b;

    private void start(OpsecMode modeA, OpsecMode modeB) {
        wire = MemoryLink.pair();
        a = OpsecStack.builder().name("a").address(A).link(wire.a()).opsecMode(modeA).build();
        b = OpsecStack.builder().name("b").address(B).link(wire.b()).opsecMode(modeB).build();
    }

    @AfterEach
    void tearDown() {
        if (a != null) {
            a.close();
            b.close();
        }
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

    private static CompletableFuture<Void> echo(Socket s) {
        return CompletableFuture.runAsync(() -> {
            try (s) {
                s.getInputStream().transferTo(s.getOutputStream());
                s.shutdownOutput();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void echoOverTwoStacks_isSecuredOnBothEnds_withTheSameSessionId() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OPPORTUNISTIC);
        AtomicBoolean plaintextOnWire = new AtomicBoolean();
        byte[] marker = "THE-PLAINTEXT-MARKER".getBytes(StandardCharsets.US_ASCII);
        wire.aToB().middlebox((p, now) -> {
            if (contains(p, marker)) {
                plaintextOnWire.set(true);
            }
            return p;
        });
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        System.arraycopy(marker, 0, data, 1000, marker.length);
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7)) {
                Socket s = accepted.get(20, TimeUnit.SECONDS);
                SecurityStatus cs = ((OpsecSocket) c).security();
                SecurityStatus ss2 = ((OpsecSocket) s).security();
                assertTrue(cs.isSecured(), cs.toString());
                assertTrue(ss2.isSecured(), ss2.toString());
                assertEquals("TLS_DH_anon_WITH_AES_128_GCM_SHA256", cs.cipherSuite().orElseThrow());
                assertEquals(32, cs.sessionId().orElseThrow().length);
                assertEquals(cs.sessionIdHex(), ss2.sessionIdHex());
                CompletableFuture<Void> echoed = echo(s);
                CompletableFuture<byte[]> back = CompletableFuture.supplyAsync(() -> {
                    try {
                        return c.getInputStream().readAllBytes();
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                c.getOutputStream().write(data);
                c.shutdownOutput();
                assertArrayEquals(data, back.get(30, TimeUnit.SECONDS));
                echoed.get(10, TimeUnit.SECONDS);
            }
        }
        assertFalse(plaintextOnWire.get(), "application plaintext crossed the wire on a secured connection");
    }

    /**
     * A listener that answers every SYN with a SYN cookie (docs/tcp.md) keeps no state for it: the
     * OPSEC selection travels in the cookie, the connection made from the returning ACK is secured
     * with TLS, and data crosses both ways.
     */
    @Test
    void synCookies_keepTheOpsecSelection_andTheConnectionIsSecured() throws Exception {
        wire = MemoryLink.pair();
        a = OpsecStack.builder().name("a").address(A).link(wire.a()).opsecMode(OpsecMode.OPPORTUNISTIC).build();
        b = OpsecStack.builder().name("b").address(B).link(wire.b()).opsecMode(OpsecMode.OPPORTUNISTIC)
                .tcp(TcpConfig.builder().synCookies(SynCookieMode.ALWAYS).build()).build();
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                SecurityStatus cs = ((OpsecSocket) c).security();
                SecurityStatus ss2 = ((OpsecSocket) s).security();
                assertTrue(cs.isSecured(), cs.toString());
                assertTrue(ss2.isSecured(), ss2.toString());
                assertEquals(cs.sessionIdHex(), ss2.sessionIdHex());
                c.getOutputStream().write("through a cookie".getBytes(StandardCharsets.US_ASCII));
                byte[] got = s.getInputStream().readNBytes(16);
                assertEquals("through a cookie", new String(got, StandardCharsets.US_ASCII));
                s.getOutputStream().write("back".getBytes(StandardCharsets.US_ASCII));
                assertEquals("back", new String(c.getInputStream().readNBytes(4), StandardCharsets.US_ASCII));
            }
        }
        assertTrue(b.stats().synCookiesSent() >= 1, b.stats().toString());
        assertEquals(b.stats().synCookiesSent(), b.stats().synCookiesValidated(), b.stats().toString());
    }

    @Test
    void resetBeforeCloseNotify_isAnErrorToTheReader_notAnEndOfStream() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OPPORTUNISTIC);
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket(B, 7);
            try (Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                assertTrue(((OpsecSocket) s).security().isSecured());
                c.getOutputStream().write("partial".getBytes(StandardCharsets.US_ASCII));
                c.setSoLinger(true, 0);
                c.close(); // RST, no close_notify: the data may be cut short, so the reader must know
                s.setSoTimeout(20_000);
                InputStream in = s.getInputStream();
                SocketException e = assertThrows(SocketException.class, () -> {
                    while (in.read() >= 0) {
                        // drain what arrived before the reset
                    }
                });
                assertTrue(e.getMessage().startsWith("Connection reset"), e.getMessage());
            }
        }
    }

    @Test
    void orderlyClose_sendsCloseNotifyBeforeFin_andTheReaderSeesACleanEnd() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OPPORTUNISTIC);
        java.util.List<String> fromA = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        wire.aToB().middlebox((p, now) -> {
            var seg = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT);
            if (seg.isOk() && (seg.value().payloadLength() > 0 || seg.value().tcp().has(io.opsec.stack.wire.TcpFlags.FIN))) {
                int type = seg.value().payloadLength() > 0 ? p.getUnsignedByte(seg.value().payloadIndex()) : -1;
                fromA.add((type == 21 ? "alert" : type == 23 ? "data" : type == 22 ? "handshake" : "other")
                        + (seg.value().tcp().has(io.opsec.stack.wire.TcpFlags.FIN) ? "+FIN" : ""));
            }
            return p;
        });
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            Socket c = a.socketFactory().createSocket(B, 7);
            try (Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                c.getOutputStream().write("bye".getBytes(StandardCharsets.US_ASCII));
                c.close();
                s.setSoTimeout(20_000);
                assertEquals("bye", new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
            }
        }
        // The last record before (or with) the FIN is the close_notify alert (decision 6).
        int fin = -1;
        for (int i = 0; i < fromA.size(); i++) {
            if (fromA.get(i).endsWith("+FIN")) {
                fin = i;
                break;
            }
        }
        assertTrue(fin >= 0, fromA.toString());
        assertTrue(fromA.get(fin).startsWith("alert") || fromA.get(fin - 1).startsWith("alert"), fromA.toString());
    }

    @Test
    void eachConnection_hasItsOwnSessionId() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OPPORTUNISTIC);
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            String first;
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                first = ((OpsecSocket) c).security().sessionIdHex().orElseThrow();
            }
            accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                assertNotEquals(first, ((OpsecSocket) c).security().sessionIdHex().orElseThrow());
            }
        }
    }

    @Test
    void peerWithOpsecOff_bothRunPlain_andSayWhy() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OFF);
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                SecurityStatus cs = ((OpsecSocket) c).security();
                SecurityStatus sst = ((OpsecSocket) s).security();
                assertEquals(PlainReason.PEER_DID_NOT_ANSWER, cs.plainReason().orElseThrow());
                assertEquals(PlainReason.LOCAL_POLICY, sst.plainReason().orElseThrow());
                c.getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
                byte[] got = new byte[5];
                assertEquals(5, s.getInputStream().readNBytes(got, 0, 5));
                assertEquals("plain", new String(got, StandardCharsets.US_ASCII));
            }
        }
    }

    @Test
    void perSocketRequired_againstAPlainPeer_failsLoudly() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OFF);
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            OpsecSocket c = (OpsecSocket) a.socketFactory().createSocket();
            c.setOpsecMode(OpsecMode.REQUIRED);
            SocketException e = assertThrows(SocketException.class,
                    () -> c.connect(new java.net.InetSocketAddress(B, 7), 10_000));
            assertTrue(e.getMessage().contains("OPSEC"), e.getMessage());
            assertTrue(c.isClosed());
        }
    }

    @Test
    void corruptedRecordAfterTheHandshake_resetsAtOnce_andNamesTheAlert() throws Exception {
        start(OpsecMode.OPPORTUNISTIC, OpsecMode.OPPORTUNISTIC);
        AtomicBoolean armed = new AtomicBoolean();
        // A middlebox that fixes up TCP checksums but flips a bit of TLS payload: only TLS notices.
        wire.aToB().middlebox((p, now) -> {
            if (armed.get()) {
                var seg = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT);
                if (seg.isOk() && seg.value().payloadLength() > 20) {
                    armed.set(false);
                    int at = seg.value().payloadIndex() + seg.value().payloadLength() - 1;
                    p.setByte(at, p.getByte(at) ^ 0x01);
                    fixTcpChecksum(p, seg.value());
                }
            }
            return p;
        });
        try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = a.socketFactory().createSocket(B, 7); Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                assertTrue(((OpsecSocket) s).security().isSecured());
                armed.set(true);
                c.getOutputStream().write(new byte[100]);
                s.setSoTimeout(20_000);
                SocketException e = assertThrows(SocketException.class, () -> s.getInputStream().read());
                assertTrue(e.getMessage().contains("bad_record_mac"), e.getMessage());
                c.setSoTimeout(20_000);
                SocketException ce = assertThrows(SocketException.class, () -> c.getInputStream().read());
                assertTrue(ce.getMessage().contains("reset") || ce.getMessage().contains("bad_record_mac"),
                        ce.getMessage());
            }
        }
    }

    private static void fixTcpChecksum(ByteBuf p, TcpSegment seg) {
        int tcpAt = p.readerIndex() + seg.ip().headerLength();
        int len = seg.ip().totalLength() - seg.ip().headerLength();
        p.setShort(tcpAt + 16, 0);
        long sum = io.opsec.stack.wire.Checksum.pseudoHeader(seg.ip().source(), seg.ip().destination(), 6, len);
        p.setShort(tcpAt + 16, io.opsec.stack.wire.Checksum.finish(io.opsec.stack.wire.Checksum.add(sum, p, tcpAt, len)));
    }

    private static boolean contains(ByteBuf p, byte[] needle) {
        outer:
        for (int i = p.readerIndex(); i <= p.writerIndex() - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (p.getByte(i + j) != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
