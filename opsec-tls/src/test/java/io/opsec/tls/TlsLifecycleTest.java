package io.opsec.tls;

import static io.opsec.tls.Fixtures.ANON;
import static io.opsec.tls.Fixtures.assertNoErrors;
import static io.opsec.tls.Fixtures.client;
import static io.opsec.tls.Fixtures.drainNetwork;
import static io.opsec.tls.Fixtures.established;
import static io.opsec.tls.Fixtures.feed;
import static io.opsec.tls.Fixtures.send;
import static io.opsec.tls.Fixtures.server;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.ExtensionType;
import org.junit.jupiter.api.Test;

import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;

/**
 * Orderly close, truncation, and the shape of the handshake on the wire: no resumption, no
 * tickets, the extended master secret and encrypt-then-MAC extensions; and the key log.
 */
class TlsLifecycleTest {

    // ---- close and truncation (READING-NOTES decision 6) ----

    @Test
    void finBeforeCloseNotify_isTruncation() throws Exception {
        Pump p = established(ANON, ANON);
        send(p.client, "partial".getBytes());
        p.run();
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> p.server.networkEnded(false));
        assertEquals(SecurityFailure.Kind.TRUNCATED, f.kind());
        assertFalse(f.hasAlert());
        assertEquals(-1, f.alertCode());
        assertTrue(f.getMessage().contains("close_notify"), f::getMessage);
        assertSame(f, p.server.failure());
        assertSame(f, assertThrows(SecurityFailure.class, () -> p.server.networkEnded(false)));
        assertEquals(0, p.server.pendingNetworkOutput(), "truncation sends no alert");
    }

    @Test
    void rstBeforeCloseNotify_isReset() {
        Pump p = established(ANON, ANON);
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> p.client.networkEnded(true));
        assertEquals(SecurityFailure.Kind.RESET, f.kind());
    }

    @Test
    void finDuringHandshake_isTruncation() throws Exception {
        SecuritySession c = client(ANON);
        c.start();
        drainNetwork(c);
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> c.networkEnded(false));
        assertEquals(SecurityFailure.Kind.TRUNCATED, f.kind());
        assertTrue(f.getMessage().contains("handshake"), f::getMessage);
    }

    @Test
    void closeNotifyThenFin_isACleanEnd() throws Exception {
        Pump p = established(ANON, ANON);
        send(p.client, "bye".getBytes());
        p.client.closeOutbound();
        p.run();
        assertEquals("bye", p.receivedByB.toString());
        assertTrue(p.server.isInboundClosed());
        assertDoesNotThrow(() -> p.server.networkEnded(false));
        assertDoesNotThrow(() -> p.server.networkEnded(true));
        assertFalse(p.server.isFailed());
    }

    @Test
    void halfClose_peerKeepsSendingAfterOurCloseNotify_thenCloses() throws Exception {
        Pump p = established(ANON, ANON);
        p.client.closeOutbound();
        assertTrue(p.client.isOutboundClosed());
        assertThrows(IllegalStateException.class, () -> send(p.client, new byte[] {1}));
        p.run();
        assertTrue(p.server.isInboundClosed());
        assertFalse(p.server.isOutboundClosed(), "no automatic close_notify reply (see Engines)");
        assertFalse(p.client.isInboundClosed());
        // The server answers after the client's close, as over TCP half-close.
        send(p.server, "reply after your FIN".getBytes());
        p.run();
        assertEquals("reply after your FIN", p.receivedByA.toString());
        p.server.closeOutbound();
        p.run();
        assertTrue(p.client.isInboundClosed());
        assertDoesNotThrow(() -> p.client.networkEnded(false));
        assertNoErrors(p);
    }

    @Test
    void closeOutbound_writesExactlyOneEncryptedAlertRecord() throws Exception {
        Pump p = established(ANON, ANON);
        p.client.closeOutbound();
        p.client.closeOutbound(); // idempotent
        byte[] wire = drainNetwork(p.client);
        // One record: type alert(21), TLS 1.2, 2-byte alert + 8-byte nonce + 16-byte tag.
        assertEquals(5 + 8 + 2 + 16, wire.length);
        assertEquals(21, wire[0]);
        feed(p.server, wire);
        assertTrue(p.server.isInboundClosed());
    }

    @Test
    void closeOutboundDuringHandshake_abandonsIt_andThePeerFails() throws Exception {
        SecuritySession c = client(ANON);
        SecuritySession s = server(ANON);
        c.start();
        s.start();
        feed(s, drainNetwork(c)); // ClientHello
        drainNetwork(s);          // the server's flight never reaches the client
        c.closeOutbound();        // user_canceled, then close_notify (RFC 5246 §7.2.1)
        assertFalse(c.isFailed());
        assertFalse(c.isEstablished());
        assertDoesNotThrow(() -> c.networkEnded(false), "an abandoned handshake expects nothing more");
        assertDoesNotThrow(() -> feed(c, new byte[] {22, 3, 3}), "late input is ignored");
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(s, drainNetwork(c)));
        // A close_notify before the handshake completes cannot end it cleanly.
        assertEquals(AlertDescription.handshake_failure, f.alertCode());
        drainNetwork(s);
    }

    @Test
    void closeOutboundAfterOurFinished_isAnOrderlyCloseForTheServer() throws Exception {
        SecuritySession c = client(ANON);
        SecuritySession s = server(ANON);
        c.start();
        s.start();
        feed(s, drainNetwork(c));
        feed(c, drainNetwork(s)); // the client now has its Finished queued
        c.closeOutbound();
        feed(s, drainNetwork(c)); // Finished, then the alerts: the server completes, then sees the close
        assertTrue(s.isEstablished());
        assertTrue(s.isInboundClosed());
        drainNetwork(s);
    }

    // ---- the handshake on the wire ----

    @Test
    void wire_clientHelloAndServerHello_haveNoSessionIdOrTicket_andRequireEmsAndEtm() {
        Pump p = new Pump(client(ANON), server(TlsSecurityProtocol.builder()
                .cipherSuites(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA).build())).start();
        assertNoErrors(p);
        Hello ch = Hello.parse(p.flightsFromA.get(0), 1);
        Hello sh = Hello.parse(p.flightsFromB.get(0), 2);
        assertEquals(0x0303, ch.version);
        assertEquals(0, ch.sessionId.length, "ClientHello offers no session to resume");
        assertEquals(0, sh.sessionId.length, "ServerHello issues no session id: never resumable");
        assertFalse(ch.extensions.containsKey(ExtensionType.session_ticket), "no tickets (RFC 5077)");
        assertFalse(sh.extensions.containsKey(ExtensionType.session_ticket));
        assertTrue(ch.extensions.containsKey(ExtensionType.extended_master_secret), "RFC 7627");
        assertTrue(sh.extensions.containsKey(ExtensionType.extended_master_secret));
        assertTrue(ch.extensions.containsKey(ExtensionType.encrypt_then_mac), "RFC 7366");
        assertTrue(sh.extensions.containsKey(ExtensionType.encrypt_then_mac));
        assertEquals(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA, sh.cipherSuite);
        // RFC 7919 §3: the client names the FFDHE groups it accepts, ffdhe2048 first.
        byte[] groups = ch.extensions.get(ExtensionType.supported_groups);
        assertNotNull(groups);
        assertTrue(HexFormat.of().formatHex(groups).contains("0100"), "ffdhe2048 (0x0100) offered");
    }

    @Test
    void secondConnection_isAFullHandshake_withFreshKeys() {
        TlsSecurityProtocol server = new TlsSecurityProtocol();
        Pump first = new Pump(client(ANON), server(server)).start();
        Pump second = new Pump(client(ANON), server(server)).start();
        assertNoErrors(first);
        assertNoErrors(second);
        for (Pump p : List.of(first, second)) {
            // A full handshake: Certificate-less DH_anon flight with ServerKeyExchange (type 12).
            assertTrue(handshakeTypes(p.flightsFromB.get(0)).contains(12), "ServerKeyExchange present");
            assertEquals(0, Hello.parse(p.flightsFromA.get(0), 1).sessionId.length);
        }
        assertFalse(java.util.Arrays.equals(first.client.info().sessionId(), second.client.info().sessionId()));
    }

    @Test
    void clientOfferingATicket_getsNone() {
        RawPeers.Client wantsTicket = new RawPeers.Client();
        wantsTicket.offerSessionTicket = true;
        SecuritySession s = server(ANON);
        Pump p = new Pump(Pump.rawClient(wantsTicket), Pump.of(s), null, s).start();
        assertNoErrors(p);
        assertFalse(Hello.parse(p.flightsFromB.get(0), 2).extensions.containsKey(ExtensionType.session_ticket));
        for (byte[] flight : p.flightsFromB) {
            assertFalse(handshakeTypes(flight).contains(4), "no NewSessionTicket (type 4)");
        }
    }

    // ---- key log ----

    @Test
    void keyLog_writesOneNssLinePerEnd_withTheClientRandomOfTheHello() {
        List<String> clientLog = new ArrayList<>();
        List<String> serverLog = new ArrayList<>();
        TlsSecurityProtocol c = TlsSecurityProtocol.builder().keyLog(clientLog::add).build();
        TlsSecurityProtocol s = TlsSecurityProtocol.builder().keyLog(serverLog::add).build();
        Pump p = established(c, s);
        assertEquals(1, clientLog.size());
        assertEquals(clientLog, serverLog, "both ends log the same secret");
        String[] f = clientLog.get(0).split(" ");
        assertEquals(3, f.length);
        assertEquals("CLIENT_RANDOM", f[0]);
        assertEquals(HexFormat.of().formatHex(Hello.parse(p.flightsFromA.get(0), 1).random), f[1]);
        assertTrue(f[2].matches("[0-9a-f]{96}"), f[2]);
        // Reading the secret did not destroy it: the exporter still works at both ends.
        assertArrayEquals(p.client.info().sessionId(), p.server.info().sessionId());
        send0(p);
    }

    @Test
    void keyLogThatThrows_doesNotFailTheConnection() {
        TlsSecurityProtocol c = TlsSecurityProtocol.builder().keyLog(line -> {
            throw new IllegalStateException("disk full");
        }).build();
        Pump p = established(c, ANON);
        assertTrue(p.client.isEstablished());
    }

    private static void send0(Pump p) {
        assertDoesNotThrow(() -> send(p.client, "still works".getBytes(StandardCharsets.US_ASCII)));
        p.run();
        assertEquals("still works", p.receivedByB.toString());
    }

    // ---- wire parsing helpers (RFC 5246 §6.2, §7.4.1.2, §7.4.1.3) ----

    /** Handshake message types in a flight of plaintext handshake records. */
    static List<Integer> handshakeTypes(byte[] flight) {
        List<Integer> types = new ArrayList<>();
        int i = 0;
        while (i + 5 <= flight.length) {
            int type = flight[i] & 0xff;
            int len = ((flight[i + 3] & 0xff) << 8) | (flight[i + 4] & 0xff);
            if (type == 22) {
                int j = i + 5;
                while (j + 4 <= i + 5 + len) {
                    types.add(flight[j] & 0xff);
                    int mlen = ((flight[j + 1] & 0xff) << 16) | ((flight[j + 2] & 0xff) << 8) | (flight[j + 3] & 0xff);
                    j += 4 + mlen;
                }
            }
            i += 5 + len;
        }
        return types;
    }

    /** The fields of a ClientHello (type 1) or ServerHello (type 2) that these tests look at. */
    static final class Hello {
        int version;
        byte[] random;
        byte[] sessionId;
        int cipherSuite = -1;
        final Map<Integer, byte[]> extensions = new TreeMap<>();

        static Hello parse(byte[] flight, int expectedType) {
            assertEquals(22, flight[0], "handshake record");
            int i = 5;
            assertEquals(expectedType, flight[i]);
            i += 4;
            Hello h = new Hello();
            h.version = ((flight[i] & 0xff) << 8) | (flight[i + 1] & 0xff);
            i += 2;
            h.random = java.util.Arrays.copyOfRange(flight, i, i + 32);
            i += 32;
            int sidLen = flight[i++] & 0xff;
            h.sessionId = java.util.Arrays.copyOfRange(flight, i, i + sidLen);
            i += sidLen;
            if (expectedType == 1) {
                int csLen = u16(flight, i);
                i += 2 + csLen;
                int compLen = flight[i++] & 0xff;
                i += compLen;
            } else {
                h.cipherSuite = u16(flight, i);
                i += 3;
            }
            int extEnd = i + 2 + u16(flight, i);
            i += 2;
            while (i < extEnd) {
                int type = u16(flight, i);
                int len = u16(flight, i + 2);
                h.extensions.put(type, java.util.Arrays.copyOfRange(flight, i + 4, i + 4 + len));
                i += 4 + len;
            }
            assertNull(null);
            return h;
        }

        private static int u16(byte[] b, int i) {
            return ((b[i] & 0xff) << 8) | (b[i + 1] & 0xff);
        }
    }
}
