package io.opsec.tls;

import static io.opsec.tls.Fixtures.ANON;
import static io.opsec.tls.Fixtures.assertNoErrors;
import static io.opsec.tls.Fixtures.client;
import static io.opsec.tls.Fixtures.established;
import static io.opsec.tls.Fixtures.send;
import static io.opsec.tls.Fixtures.server;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import org.bouncycastle.tls.CipherSuite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.opsec.SecurityProtocol;
import io.opsec.stack.testing.LeakCheckExtension;
import io.opsec.stack.opsec.SecuritySession;
import io.opsec.stack.opsec.SessionInfo;
import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * Handshakes, data transfer and session status between two in-memory sessions. Buffer leaks fail
 * the test through the stack's auto-registered leak check (opsec-stack test-jar).
 */
class TlsHandshakeTest {

    @Test
    void leakCheck_isActiveForTheseTests() {
        assertTrue(LeakCheckExtension.isActiveFor(TlsHandshakeTest.class));
    }

    @Test
    void serviceLoader_findsTlsAsProtocolZero() {
        Map<Integer, SecurityProtocol> installed = SecurityProtocol.installed(getClass().getClassLoader());
        assertTrue(installed.get(0) instanceof TlsSecurityProtocol, installed::toString);
        assertEquals("TLS", installed.get(0).name());
    }

    @Test
    void anonymous_defaults_negotiateAes128GcmWithEqualSessionIds() {
        Pump p = established(ANON, ANON);
        assertTrue(p.client.isEstablished());
        assertTrue(p.server.isEstablished());
        SessionInfo c = p.client.info();
        SessionInfo s = p.server.info();
        assertEquals("TLS", c.protocol());
        assertEquals("TLSv1.2", c.protocolVersion());
        assertEquals(CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256, c.cipherSuiteCode());
        assertEquals("TLS_DH_anon_WITH_AES_128_GCM_SHA256", c.cipherSuite());
        assertEquals(32, c.sessionId().length);
        assertArrayEquals(c.sessionId(), s.sessionId(), "RFC 5705 exporter equal at both ends");
        assertEquals(c, s);
        assertEquals(PeerAuthentication.ANONYMOUS, c.peerAuthentication());
        assertTrue(c.peerKeyFingerprint().isEmpty());
        assertEquals("ffdhe2048", c.keyExchangeGroup().orElseThrow(), "RFC 7919 group at both ends");
        assertEquals("ffdhe2048", s.keyExchangeGroup().orElseThrow());
    }

    @Test
    void sessionId_differsAcrossConnections() {
        byte[] first = established(ANON, ANON).client.info().sessionId();
        byte[] second = established(ANON, ANON).client.info().sessionId();
        assertFalse(Arrays.equals(first, second));
    }

    @Test
    void info_beforeHandshake_isRefused() throws Exception {
        SecuritySession c = client(ANON);
        c.start();
        assertFalse(c.isEstablished());
        assertThrows(IllegalStateException.class, c::info);
        Fixtures.drainNetwork(c);
    }

    @Test
    void sendFromApplication_beforeHandshake_isRefused() throws Exception {
        SecuritySession c = client(ANON);
        c.start();
        assertThrows(IllegalStateException.class, () -> send(c, new byte[] {1}));
        Fixtures.drainNetwork(c);
    }

    @Test
    void start_twice_isRefused() throws Exception {
        SecuritySession c = client(ANON);
        c.start();
        assertThrows(IllegalStateException.class, c::start);
        Fixtures.drainNetwork(c);
    }

    @Test
    void oneByteAtATime_handshakeAndDataBothWays() throws Exception {
        Pump p = new Pump(client(ANON), server(ANON)).chunk(1).start();
        assertNoErrors(p);
        assertTrue(p.client.isEstablished() && p.server.isEstablished());
        send(p.client, "hello, server".getBytes());
        send(p.server, "hello, client".getBytes());
        p.run();
        assertNoErrors(p);
        assertEquals("hello, server", p.receivedByB.toString());
        assertEquals("hello, client", p.receivedByA.toString());
        assertArrayEquals(p.client.info().sessionId(), p.server.info().sessionId());
    }

    @Test
    void largeEcho_randomChunks_isByteExact() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(42).nextBytes(data);
        Pump p = new Pump(client(ANON), server(ANON)).randomChunks(7).start();
        send(p.client, data);
        p.run();
        assertArrayEquals(data, p.receivedByB.toByteArray());
        send(p.server, p.receivedByB.toByteArray()); // echo
        p.run();
        assertNoErrors(p);
        assertArrayEquals(data, p.receivedByA.toByteArray());
    }

    @Test
    void pollers_returnNullWhenEmpty_andPendingCountsMatch() throws Exception {
        Pump p = established(ANON, ANON);
        assertNull(p.client.pollNetworkOutput(PooledByteBufAllocator.DEFAULT));
        assertNull(p.client.pollApplicationInput(PooledByteBufAllocator.DEFAULT));
        assertEquals(0, p.client.pendingNetworkOutput());
        send(p.client, new byte[100]);
        int pending = p.client.pendingNetworkOutput();
        // 5-byte header, 8-byte explicit nonce, 100 bytes, 16-byte tag (RFC 5288 §3)
        assertEquals(5 + 8 + 100 + 16, pending);
        byte[] wire = Fixtures.drainNetwork(p.client);
        assertEquals(pending, wire.length);
        Fixtures.feed(p.server, wire);
        assertEquals(100, p.server.pendingApplicationInput());
        p.run();
        assertEquals(100, p.receivedByB.size());
    }

    @Test
    void receiveFromNetwork_borrowsWithoutWriting_evenThoughTheEngineDecryptsInPlace() throws Exception {
        Pump p = established(ANON, ANON);
        send(p.client, "secret words".getBytes());
        byte[] wire = Fixtures.drainNetwork(p.client);
        io.netty.buffer.ByteBuf heap = PooledByteBufAllocator.DEFAULT.heapBuffer(wire.length).writeBytes(wire);
        try {
            p.server.receiveFromNetwork(heap);
            assertFalse(heap.isReadable(), "all bytes consumed");
            assertEquals(1, heap.refCnt(), "not released");
            byte[] after = new byte[wire.length];
            heap.getBytes(0, after);
            assertArrayEquals(wire, after, "the caller's ciphertext is untouched");
        } finally {
            heap.release();
        }
        p.run();
        assertEquals("secret words", p.receivedByB.toString());
    }

    @Test
    void keyLogFile_appendsWholeLines() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("keylog", ".txt");
        try {
            TlsSecurityProtocol logging = TlsSecurityProtocol.builder().keyLog(file).build();
            established(logging, ANON);
            established(ANON, logging);
            java.util.List<String> lines = java.nio.file.Files.readAllLines(file);
            assertEquals(2, lines.size());
            for (String line : lines) {
                assertTrue(line.matches("CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}"), line);
            }
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @ParameterizedTest(name = "anonymous suite 0x{0}")
    @ValueSource(strings = {"00A6", "00A7", "0034", "003A", "006C", "006D"})
    void everyAnonymousSuite_negotiatesWhenForced(String hex) throws Exception {
        int suite = Integer.parseInt(hex, 16);
        TlsSecurityProtocol only = TlsSecurityProtocol.builder().cipherSuites(suite).build();
        Pump p = established(only, only);
        assertEquals(suite, p.client.info().cipherSuiteCode());
        assertEquals(suite, p.server.info().cipherSuiteCode());
        byte[] data = new byte[40000];
        new Random(suite).nextBytes(data);
        send(p.client, data);
        p.run();
        assertArrayEquals(data, p.receivedByB.toByteArray());
        assertNoErrors(p);
    }

    @Test
    void serverPrefersAead_whenClientOffersCbcFirst() {
        // A client offering only CBC and GCM: the server's order (AEAD first, RFC 5288) decides.
        TlsSecurityProtocol cbcThenGcm = TlsSecurityProtocol.builder()
                .cipherSuites(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA, CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384)
                .build();
        Pump p = established(cbcThenGcm, ANON);
        assertEquals(CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384, p.client.info().cipherSuiteCode());
    }

    @Test
    void offeredSuites_neverIncludeWeakOnes() {
        int[] all = new TlsSecurityProtocol().clientCipherSuites();
        for (int s : all) {
            String name = CipherSuites.name(s);
            assertTrue(name.contains("_WITH_AES_"), name);
            assertFalse(name.contains("NULL") || name.contains("EXPORT") || name.contains("RC4")
                    || name.contains("DES"), name);
        }
        assertTrue(Arrays.stream(all).anyMatch(s -> s == CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA), "MUST suite");
        assertNotEquals(0, all.length);
    }
}
