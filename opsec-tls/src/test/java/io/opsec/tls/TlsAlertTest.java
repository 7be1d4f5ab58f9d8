package io.opsec.tls;

import static io.opsec.tls.Fixtures.ANON;
import static io.opsec.tls.Fixtures.assertAlert;
import static io.opsec.tls.Fixtures.assertNoErrors;
import static io.opsec.tls.Fixtures.client;
import static io.opsec.tls.Fixtures.drainNetwork;
import static io.opsec.tls.Fixtures.established;
import static io.opsec.tls.Fixtures.feed;
import static io.opsec.tls.Fixtures.send;
import static io.opsec.tls.Fixtures.server;
import static io.opsec.stack.opsec.SecurityFailure.Kind.ALERT_RECEIVED;
import static io.opsec.stack.opsec.SecurityFailure.Kind.ALERT_SENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.crypto.DHGroup;
import org.bouncycastle.tls.crypto.DHStandardGroups;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;

/**
 * Every alert path we can provoke: each test breaks one rule and checks which end raised which
 * alert (RFC 5246 §7.2) and that the other end, given the alert, reports it as received.
 */
class TlsAlertTest {

    // ---- record protection ----

    @ParameterizedTest(name = "suite 0x{0}")
    @ValueSource(strings = {"00A6", "0034"})
    void flippedCiphertextByte_isBadRecordMac_atBothEnds(String hex) throws Exception {
        TlsSecurityProtocol p = TlsSecurityProtocol.builder().cipherSuites(Integer.parseInt(hex, 16)).build();
        Pump pump = established(p, p);
        send(pump.client, "attack at dawn".getBytes(StandardCharsets.US_ASCII));
        byte[] record = drainNetwork(pump.client);
        record[record.length - 1] ^= 0x01; // in the GCM tag, or the encrypt-then-MAC MAC
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(pump.server, record));
        assertAlert(f, ALERT_SENT, AlertDescription.bad_record_mac, "bad_record_mac");
        assertEquals(0, pump.server.pendingApplicationInput(), "nothing of the forged record delivered");
        assertSame(f, pump.server.failure());
        assertFalse(pump.server.isEstablished());
        // The alert is queued for the owner to send before the reset; the client reads it.
        SecurityFailure atClient = assertThrows(SecurityFailure.class, () -> feed(pump.client, drainNetwork(pump.server)));
        assertAlert(atClient, ALERT_RECEIVED, AlertDescription.bad_record_mac, "bad_record_mac");
        // Failure is sticky.
        assertSame(f, assertThrows(SecurityFailure.class, () -> feed(pump.server, new byte[] {0})));
        assertSame(f, assertThrows(SecurityFailure.class, () -> send(pump.server, new byte[] {0})));
    }

    @Test
    void replayedRecord_isBadRecordMac() throws Exception {
        Pump pump = established(ANON, ANON);
        send(pump.client, "pay 10".getBytes(StandardCharsets.US_ASCII));
        byte[] record = drainNetwork(pump.client);
        feed(pump.server, record);
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(pump.server, record));
        assertAlert(f, ALERT_SENT, AlertDescription.bad_record_mac, "bad_record_mac"); // RFC 5246 §6.2.3.3 nonce/seq
        drainNetwork(pump.server);
    }

    // ---- unexpected and undecodable input ----

    @Test
    void applicationDataDuringHandshake_isUnexpectedMessage() throws Exception {
        SecuritySession c = client(ANON);
        SecuritySession s = server(ANON);
        c.start();
        s.start();
        feed(s, drainNetwork(c)); // the ClientHello: the server now knows the record version
        drainNetwork(s);
        byte[] appData = {23, 3, 3, 0, 1, 'x'}; // ContentType.application_data mid-handshake
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(s, appData));
        assertAlert(f, ALERT_SENT, AlertDescription.unexpected_message, "unexpected_message");
        byte[] alert = drainNetwork(s);
        // RFC 5246 §7.2: an unencrypted Alert record {fatal(2), unexpected_message(10)}.
        assertEquals(7, alert.length);
        assertEquals(21, alert[0]);
        assertEquals(2, alert[5]);
        assertEquals(10, alert[6]);
        assertAlert(assertThrows(SecurityFailure.class, () -> feed(c, alert)),
                ALERT_RECEIVED, AlertDescription.unexpected_message, "unexpected_message");
    }

    @Test
    void applicationDataBeforeClientHello_isUnexpectedMessage_withNothingWritten() throws Exception {
        SecuritySession s = server(ANON);
        s.start();
        byte[] appData = {23, 3, 3, 0, 1, 'x'};
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(s, appData));
        assertAlert(f, ALERT_SENT, AlertDescription.unexpected_message, "unexpected_message");
        // Before a ClientHello there is no record version to write an alert with: the engine
        // raises it but writes nothing, and the owner resets the connection.
        assertEquals(0, drainNetwork(s).length);
    }

    @Test
    void plaintextHttp_isRefused() throws Exception {
        SecuritySession s = server(ANON);
        s.start();
        byte[] http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(s, http));
        // 'G' (0x47) is no TLS content type (RFC 5246 §6.2.1).
        assertAlert(f, ALERT_SENT, AlertDescription.unexpected_message, "unexpected_message");
        drainNetwork(s);
    }

    @Test
    void truncatedClientHelloBody_isDecodeError() throws Exception {
        SecuritySession s = server(ANON);
        s.start();
        // A handshake record holding a ClientHello whose body is two bytes: too short to decode.
        byte[] garbage = {22, 3, 3, 0, 6, 1, 0, 0, 2, 3, 3};
        SecurityFailure f = assertThrows(SecurityFailure.class, () -> feed(s, garbage));
        assertAlert(f, ALERT_SENT, AlertDescription.decode_error, "decode_error");
        drainNetwork(s);
    }

    @Test
    void recordAfterCloseNotify_isUnexpectedMessage() throws Exception {
        RawPeers.RudeClientProtocol rude = new RawPeers.RudeClientProtocol();
        SecuritySession s = server(ANON);
        Pump pump = new Pump(Pump.raw(rude, () -> rude.connect(new RawPeers.Client())), Pump.of(s), null, s).start();
        assertNoErrors(pump);
        rude.closeNotifyThenData("late".getBytes(StandardCharsets.US_ASCII));
        pump.run();
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.unexpected_message, "unexpected_message");
        assertEquals(0, pump.receivedByB.size(), "no data after close_notify reaches the application");
    }

    // ---- negotiation ----

    @Test
    void noCommonSuite_isHandshakeFailure_sentByServer() {
        TlsSecurityProtocol gcmOnly = TlsSecurityProtocol.builder()
                .cipherSuites(CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256).build();
        TlsSecurityProtocol cbcOnly = TlsSecurityProtocol.builder()
                .cipherSuites(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA).build();
        Pump pump = new Pump(client(gcmOnly), server(cbcOnly)).start();
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
        assertAlert(pump.errorA, ALERT_RECEIVED, AlertDescription.handshake_failure, "handshake_failure");
        assertFalse(pump.client.isEstablished());
    }

    @Test
    void tls11Client_isProtocolVersion() {
        RawPeers.Client old = new RawPeers.Client();
        old.versions = ProtocolVersion.TLSv11.only();
        old.suites = RawPeers.ANON_CBC;
        SecuritySession s = server(ANON);
        Pump pump = new Pump(Pump.rawClient(old), Pump.of(s), null, s).start();
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.protocol_version, "protocol_version");
    }

    @Test
    void clientWithoutExtendedMasterSecret_isHandshakeFailure() {
        RawPeers.Client noEms = new RawPeers.Client();
        noEms.extendedMasterSecret = false;
        SecuritySession s = server(ANON);
        Pump pump = new Pump(Pump.rawClient(noEms), Pump.of(s), null, s).start();
        // RFC 7627 §5.2: a server that requires it aborts with handshake_failure.
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
    }

    @Test
    void serverWithoutExtendedMasterSecret_isHandshakeFailure() {
        RawPeers.Server noEms = new RawPeers.Server();
        noEms.extendedMasterSecret = false;
        SecuritySession c = client(ANON);
        Pump pump = new Pump(Pump.of(c), Pump.rawServer(noEms), c, null).start();
        // RFC 7627 §5.3: a client that requires it aborts with handshake_failure.
        assertAlert(pump.errorA, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
        assertTrue(pump.errorB instanceof TlsFatalAlertReceived);
    }

    @Test
    void cbcOnlyClientWithoutEncryptThenMac_isHandshakeFailure() {
        RawPeers.Client noEtm = new RawPeers.Client();
        noEtm.encryptThenMac = false;
        noEtm.suites = RawPeers.ANON_CBC;
        SecuritySession s = server(ANON);
        Pump pump = new Pump(Pump.rawClient(noEtm), Pump.of(s), null, s).start();
        // RFC 7366: CBC only with encrypt-then-MAC; with nothing else in common, no suite.
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
    }

    @Test
    void clientWithoutEncryptThenMac_getsAeadInstead() {
        RawPeers.Client noEtm = new RawPeers.Client();
        noEtm.encryptThenMac = false;
        noEtm.suites = new int[] {CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA,
                CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384};
        SecuritySession s = server(ANON);
        Pump pump = new Pump(Pump.rawClient(noEtm), Pump.of(s), null, s).start();
        assertNoErrors(pump);
        assertEquals(CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384, s.info().cipherSuiteCode());
    }

    @Test
    void serverChoosingCbcWithoutEncryptThenMac_isHandshakeFailure() {
        RawPeers.Server noEtm = new RawPeers.Server();
        noEtm.encryptThenMac = false;
        noEtm.suites = RawPeers.ANON_CBC;
        SecuritySession c = client(ANON);
        Pump pump = new Pump(Pump.of(c), Pump.rawServer(noEtm), c, null).start();
        assertAlert(pump.errorA, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
    }

    // ---- Diffie-Hellman groups (RFC 7919) ----

    @Test
    void weak1024BitGroup_isInsufficientSecurity() {
        assertGroupRefused(DHStandardGroups.rfc2409_1024);
    }

    @Test
    void nonRfc7919Group_evenOf2048Bits_isInsufficientSecurity() {
        assertGroupRefused(DHStandardGroups.rfc3526_2048);
    }

    @Test
    void ffdhe3072_isAccepted() {
        RawPeers.Server big = new RawPeers.Server();
        big.group = DHStandardGroups.rfc7919_ffdhe3072;
        SecuritySession c = client(ANON);
        Pump pump = new Pump(Pump.of(c), Pump.rawServer(big), c, null).start();
        assertNoErrors(pump);
        assertTrue(c.isEstablished());
        assertEquals("ffdhe3072", c.info().keyExchangeGroup().orElseThrow());
    }

    @Test
    void clientMinimum3072_refusesFfdhe2048() {
        RawPeers.Server small = new RawPeers.Server();
        small.group = DHStandardGroups.rfc7919_ffdhe2048;
        SecuritySession c = client(TlsSecurityProtocol.builder().minimumDhBits(3072).build());
        Pump pump = new Pump(Pump.of(c), Pump.rawServer(small), c, null).start();
        // The client named only ffdhe3072 and up in supported_groups; a server that answers with
        // a named group the client did not offer breaks RFC 7919 §4: illegal_parameter.
        assertAlert(pump.errorA, ALERT_SENT, AlertDescription.illegal_parameter, "illegal_parameter");
    }

    @Test
    void server_choosesFfdhe2048_whenTheClientNamesIt() {
        assertEquals("ffdhe2048", serverGroupFor(ANON, new int[] {NamedGroup.ffdhe2048, NamedGroup.ffdhe3072}));
    }

    @Test
    void server_choosesTheFirstNamedFfdheGroup_ofAtLeastItsMinimum() {
        assertEquals("ffdhe3072", serverGroupFor(ANON, new int[] {NamedGroup.ffdhe3072, NamedGroup.ffdhe2048}));
        assertEquals("ffdhe4096", serverGroupFor(TlsSecurityProtocol.builder().minimumDhBits(4096).build(),
                new int[] {NamedGroup.ffdhe2048, NamedGroup.ffdhe4096}));
    }

    @Test
    void server_usesFfdhe2048_whenTheClientNamesNoGroup() {
        // RFC 7919 §4: no FFDHE group named, so the server chooses; ffdhe2048, or its minimum.
        assertEquals("ffdhe2048", serverGroupFor(ANON, new int[0]));
        assertEquals("ffdhe3072", serverGroupFor(TlsSecurityProtocol.builder().minimumDhBits(3072).build(), new int[0]));
    }

    @Test
    void server_refusesDhSuites_whenTheClientNamesOnlyGroupsBelowItsMinimum() {
        // RFC 7919 §4: FFDHE groups named but none acceptable: no FFDHE suite, here no suite at all.
        RawPeers.Client c = new RawPeers.Client();
        c.groups = new int[] {NamedGroup.ffdhe2048};
        SecuritySession s = server(TlsSecurityProtocol.builder().minimumDhBits(3072).build());
        Pump pump = new Pump(Pump.rawClient(c), Pump.of(s), null, s).start();
        assertAlert(pump.errorB, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
    }

    private static String serverGroupFor(TlsSecurityProtocol serverSide, int[] namedGroups) {
        RawPeers.Client c = new RawPeers.Client();
        c.groups = namedGroups;
        SecuritySession s = server(serverSide);
        Pump pump = new Pump(Pump.rawClient(c), Pump.of(s), null, s).start();
        assertNoErrors(pump);
        return s.info().keyExchangeGroup().orElse("(none)");
    }

    @Test
    void minimumDhBitsBelow2048_isRefusedByTheBuilder() {
        assertThrows(IllegalArgumentException.class, () -> TlsSecurityProtocol.builder().minimumDhBits(1024));
    }

    private static void assertGroupRefused(DHGroup group) {
        RawPeers.Server weak = new RawPeers.Server();
        weak.group = group;
        SecuritySession c = client(ANON);
        Pump pump = new Pump(Pump.of(c), Pump.rawServer(weak), c, null).start();
        // RFC 5246 §7.2.2 insufficient_security; RFC 7919 §3 lets the client refuse the group.
        assertAlert(pump.errorA, ALERT_SENT, AlertDescription.insufficient_security, "insufficient_security");
        assertTrue(pump.errorB instanceof TlsFatalAlertReceived);
        assertNull(pump.errorB.getCause());
    }
}
