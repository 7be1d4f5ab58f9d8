package io.opsec.tls;

import static io.opsec.tls.Fixtures.ANON;
import static io.opsec.tls.Fixtures.assertAlert;
import static io.opsec.tls.Fixtures.assertNoErrors;
import static io.opsec.tls.Fixtures.client;
import static io.opsec.tls.Fixtures.established;
import static io.opsec.tls.Fixtures.send;
import static io.opsec.tls.Fixtures.server;
import static io.opsec.stack.opsec.SecurityFailure.Kind.ALERT_RECEIVED;
import static io.opsec.stack.opsec.SecurityFailure.Kind.ALERT_SENT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.KeyPair;
import java.security.MessageDigest;

import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.opsec.stack.opsec.SessionInfo;
import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * Opportunistic key material (READING-NOTES decision 9): a server with a key prefers
 * authenticated suites; a client without trust configuration accepts and reports the key; a
 * client with a pin or trust anchors verifies and fails otherwise.
 */
class TlsCertificateTest {

    static TestCerts.Identity ecServer;
    static TestCerts.Identity rsaServer;
    static TestCerts.Identity ca;
    static TestCerts.Identity caIssuedServer;
    static TestCerts.Identity otherCa;

    @BeforeAll
    static void keys() throws Exception {
        ecServer = TestCerts.selfSignedEc("ec.server.test");
        rsaServer = TestCerts.selfSigned(TestCerts.rsaKeys(), "rsa.server.test", false);
        ca = TestCerts.selfSigned(TestCerts.ecKeys(), "Test CA", true);
        otherCa = TestCerts.selfSigned(TestCerts.ecKeys(), "Other CA", true);
        KeyPair k = TestCerts.ecKeys();
        caIssuedServer = TestCerts.issued(k, "issued.server.test", ca);
    }

    static TlsSecurityProtocol serverWith(TestCerts.Identity id) {
        return TlsSecurityProtocol.builder()
                .serverCredentials(id.keys().getPrivate(), id.certificate()).build();
    }

    @Test
    void serverWithEcKey_prefersEcdheEcdsa_andClientReportsUnverifiedFingerprint() throws Exception {
        Pump p = established(ANON, serverWith(ecServer));
        SessionInfo c = p.client.info();
        assertEquals(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, c.cipherSuiteCode());
        assertEquals(PeerAuthentication.UNVERIFIED, c.peerAuthentication());
        assertEquals("x25519", c.keyExchangeGroup().orElseThrow());
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(
                Certificate.getInstance(ecServer.certificate().getEncoded()).getSubjectPublicKeyInfo().getEncoded());
        assertArrayEquals(expected, c.peerKeyFingerprint().orElseThrow());
        assertArrayEquals(expected, TlsSecurityProtocol.keyFingerprint(ecServer.certificate()));
        // The server has no client key to report; the session ids still agree.
        assertEquals(PeerAuthentication.ANONYMOUS, p.server.info().peerAuthentication());
        assertArrayEquals(c.sessionId(), p.server.info().sessionId());
    }

    @Test
    void serverWithRsaKey_prefersEcdheRsa() {
        Pump p = established(ANON, serverWith(rsaServer));
        assertEquals(CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, p.client.info().cipherSuiteCode());
        assertEquals(PeerAuthentication.UNVERIFIED, p.client.info().peerAuthentication());
    }

    @Test
    void serverWithKey_stillAcceptsAnonymousOnlyClients() {
        TlsSecurityProtocol anonOnly = TlsSecurityProtocol.builder()
                .cipherSuites(CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256).build();
        Pump p = established(anonOnly, serverWith(ecServer));
        assertEquals(CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256, p.client.info().cipherSuiteCode());
        assertEquals(PeerAuthentication.ANONYMOUS, p.client.info().peerAuthentication());
    }

    @ParameterizedTest(name = "suite 0x{0}")
    @ValueSource(strings = {"C02B", "C02C", "C02F", "C030"})
    void everyAuthenticatedSuite_negotiatesWhenForced(String hex) throws Exception {
        int suite = Integer.parseInt(hex, 16);
        TestCerts.Identity id = hex.equals("C02B") || hex.equals("C02C") ? ecServer : rsaServer;
        TlsSecurityProtocol c = TlsSecurityProtocol.builder().cipherSuites(suite).build();
        TlsSecurityProtocol s = TlsSecurityProtocol.builder().cipherSuites(suite)
                .serverCredentials(id.keys().getPrivate(), id.certificate()).build();
        Pump p = established(c, s);
        assertEquals(suite, p.client.info().cipherSuiteCode());
        send(p.server, "signed".getBytes());
        p.run();
        assertEquals("signed", p.receivedByA.toString());
    }

    @Test
    void pinnedFingerprint_matching_isVerified() {
        TlsSecurityProtocol pinned = TlsSecurityProtocol.builder()
                .pinnedFingerprint(TlsSecurityProtocol.keyFingerprint(ecServer.certificate())).build();
        Pump p = established(pinned, serverWith(ecServer));
        assertEquals(PeerAuthentication.VERIFIED, p.client.info().peerAuthentication());
    }

    @Test
    void pinnedFingerprint_mismatch_isBadCertificate() {
        TlsSecurityProtocol pinned = TlsSecurityProtocol.builder()
                .pinnedFingerprint(TlsSecurityProtocol.keyFingerprint(rsaServer.certificate())).build();
        Pump p = new Pump(client(pinned), server(serverWith(ecServer))).start();
        assertAlert(p.errorA, ALERT_SENT, AlertDescription.bad_certificate, "bad_certificate");
        assertAlert(p.errorB, ALERT_RECEIVED, AlertDescription.bad_certificate, "bad_certificate");
    }

    @Test
    void pinningClient_neverAcceptsAnonymous_soAnAnonymousServerIsHandshakeFailure() {
        TlsSecurityProtocol pinned = TlsSecurityProtocol.builder()
                .pinnedFingerprint(TlsSecurityProtocol.keyFingerprint(ecServer.certificate())).build();
        for (int s : pinned.clientCipherSuites()) {
            assertTrue(!CipherSuites.isAnonymous(s), CipherSuites.name(s));
        }
        Pump p = new Pump(client(pinned), server(ANON)).start();
        assertAlert(p.errorB, ALERT_SENT, AlertDescription.handshake_failure, "handshake_failure");
    }

    @Test
    void trustAnchor_validChain_isVerified() {
        TlsSecurityProtocol anchored = TlsSecurityProtocol.builder().trustAnchors(ca.certificate()).build();
        TlsSecurityProtocol s = TlsSecurityProtocol.builder()
                .serverCredentials(caIssuedServer.keys().getPrivate(), caIssuedServer.certificate(), ca.certificate())
                .build();
        Pump p = established(anchored, s);
        assertEquals(PeerAuthentication.VERIFIED, p.client.info().peerAuthentication());
    }

    @Test
    void trustAnchor_chainToAnotherCa_isCertificateUnknown() {
        TlsSecurityProtocol anchored = TlsSecurityProtocol.builder().trustAnchors(otherCa.certificate()).build();
        TlsSecurityProtocol s = TlsSecurityProtocol.builder()
                .serverCredentials(caIssuedServer.keys().getPrivate(), caIssuedServer.certificate(), ca.certificate())
                .build();
        Pump p = new Pump(client(anchored), server(s)).start();
        assertAlert(p.errorA, ALERT_SENT, AlertDescription.certificate_unknown, "certificate_unknown");
        assertAlert(p.errorB, ALERT_RECEIVED, AlertDescription.certificate_unknown, "certificate_unknown");
    }

    @Test
    void trustAnchor_selfSignedServer_isCertificateUnknown() {
        TlsSecurityProtocol anchored = TlsSecurityProtocol.builder().trustAnchors(ca.certificate()).build();
        Pump p = new Pump(client(anchored), server(serverWith(ecServer))).start();
        assertAlert(p.errorA, ALERT_SENT, AlertDescription.certificate_unknown, "certificate_unknown");
        assertNoErrorsIgnored(p);
    }

    private static void assertNoErrorsIgnored(Pump p) {
        // The server saw the client's alert; nothing else to check.
        assertTrue(p.errorB != null);
    }

    @Test
    void keyFingerprintHelper_matchesTheSessionsReport() {
        Pump p = established(ANON, serverWith(rsaServer));
        assertArrayEquals(TlsSecurityProtocol.keyFingerprint(rsaServer.certificate()),
                p.client.info().peerKeyFingerprint().orElseThrow());
        assertNoErrors(p);
    }
}
