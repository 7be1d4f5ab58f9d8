package io.opsec.stack.opsec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/** The value types of the SecurityProtocol SPI: immutability, validation and messages. */
class SecuritySpiTypesTest {

    private static final byte[] ID = new byte[32];
    private static final byte[] FP = new byte[32];

    static {
        for (int i = 0; i < 32; i++) {
            ID[i] = (byte) i;
            FP[i] = (byte) (0xA0 + i);
        }
    }

    @Test
    void sessionInfo_copiesArraysInAndOut() {
        byte[] id = ID.clone();
        SessionInfo info = new SessionInfo("TLS", "TLSv1.2", "TLS_DH_anon_WITH_AES_128_GCM_SHA256", 0x00A6, id,
                PeerAuthentication.ANONYMOUS, null);
        id[0] = 99;
        assertArrayEquals(ID, info.sessionId());
        info.sessionId()[1] = 99;
        assertArrayEquals(ID, info.sessionId());
        assertEquals("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", info.sessionIdHex());
        assertTrue(info.peerKeyFingerprint().isEmpty());
        assertTrue(info.toString().contains("(0x00A6)"), info::toString);
    }

    @Test
    void sessionInfo_fingerprintPresentExactlyWhenThePeerHasAKey() {
        assertThrows(IllegalArgumentException.class, () -> new SessionInfo("TLS", "TLSv1.2", "x", 1, ID,
                PeerAuthentication.ANONYMOUS, FP));
        assertThrows(IllegalArgumentException.class, () -> new SessionInfo("TLS", "TLSv1.2", "x", 1, ID,
                PeerAuthentication.UNVERIFIED, null));
        SessionInfo verified = new SessionInfo("TLS", "TLSv1.2", "x", 1, ID, PeerAuthentication.VERIFIED, FP);
        assertArrayEquals(FP, verified.peerKeyFingerprint().orElseThrow());
        assertTrue(verified.toString().contains("sha256/a0a1"), verified::toString);
    }

    @Test
    void sessionInfo_equalityIsByValue() {
        SessionInfo a = new SessionInfo("TLS", "TLSv1.2", "x", 1, ID, PeerAuthentication.ANONYMOUS, null);
        SessionInfo b = new SessionInfo("TLS", "TLSv1.2", "x", 1, ID.clone(), PeerAuthentication.ANONYMOUS, null);
        byte[] other = ID.clone();
        other[31] ^= 1;
        SessionInfo c = new SessionInfo("TLS", "TLSv1.2", "x", 1, other, PeerAuthentication.ANONYMOUS, null);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, c);
    }

    @Test
    void failure_sentAlert_namesItsAlertLevelAndDirection() {
        SecurityFailure f = SecurityFailure.alertSent(20, "bad_record_mac", SecurityFailure.AlertLevel.FATAL,
                "tag mismatch", null);
        assertEquals(SecurityFailure.Kind.ALERT_SENT, f.kind());
        assertTrue(f.hasAlert());
        assertTrue(f.alertSentByUs());
        assertEquals(20, f.alertCode());
        assertEquals("sent fatal alert bad_record_mac(20): tag mismatch", f.getMessage());
    }

    @Test
    void failure_receivedAlert() {
        SecurityFailure f = SecurityFailure.alertReceived(40, "handshake_failure", SecurityFailure.AlertLevel.FATAL,
                null, null);
        assertFalse(f.alertSentByUs());
        assertEquals("received fatal alert handshake_failure(40)", f.getMessage());
    }

    @Test
    void failure_truncation_hasNoAlert() {
        SecurityFailure fin = SecurityFailure.truncated(false, null);
        SecurityFailure rst = SecurityFailure.truncated(true, "x");
        assertEquals(SecurityFailure.Kind.TRUNCATED, fin.kind());
        assertEquals(SecurityFailure.Kind.RESET, rst.kind());
        assertFalse(fin.hasAlert());
        assertEquals(-1, fin.alertCode());
        assertNull(fin.alertName());
        assertNull(fin.alertLevel());
        assertTrue(fin.getMessage().contains("FIN") && fin.getMessage().contains("close_notify"));
        assertTrue(rst.getMessage().contains("RST"));
    }

    @Test
    void context_requiresEveryComponent() {
        InetSocketAddress a = new InetSocketAddress("198.18.0.1", 1);
        assertThrows(NullPointerException.class, () -> new SecurityContext(null, a, a));
        assertThrows(NullPointerException.class, () -> new SecurityContext(SecurityContext.Role.CLIENT, null, a));
        assertEquals(SecurityContext.Role.SERVER, new SecurityContext(SecurityContext.Role.SERVER, a, a).role());
    }

    @Test
    void installed_withNoProviders_isEmpty() {
        // opsec-stack itself registers no protocol; opsec-tls registers id 0 (tested there).
        assertTrue(SecurityProtocol.installed(getClass().getClassLoader()).isEmpty());
    }
}
