package io.opsec.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.MemoryLink;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Opportunistic key material through whole stacks (reading notes, decision 9): a server with a
 * certificate, clients without trust anchors (accept, report the fingerprint) and with a pin
 * (verify, fail loudly otherwise).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StackCertificateTest {

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
    void serverWithCertificate_anonymousClient_securedWithEcdhe_andReportsTheFingerprint() throws Exception {
        TestCerts.Identity id = TestCerts.selfSignedEc("server.test");
        String fingerprint = HexFormat.of().formatHex(TlsSecurityProtocol.keyFingerprint(id.certificate()));
        MemoryLink.Pair wire = MemoryLink.pair();
        try (OpsecStack client = OpsecStack.builder().address("198.18.0.1").link(wire.a()).build();
             OpsecStack server = OpsecStack.builder().address("198.18.0.2").link(wire.b())
                     .securityProtocol(TlsSecurityProtocol.builder()
                             .serverCredentials(id.keys().getPrivate(), id.certificate()).build()).build();
             ServerSocket ss = server.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<Socket> accepted = acceptAsync(ss);
            try (Socket c = client.socketFactory().createSocket("198.18.0.2", 7);
                 Socket s = accepted.get(20, TimeUnit.SECONDS)) {
                SecurityStatus st = ((OpsecSocket) c).security();
                assertTrue(st.isSecured(), st.toString());
                assertTrue(st.cipherSuite().orElseThrow().startsWith("TLS_ECDHE_ECDSA_"), st.toString());
                assertEquals(fingerprint, st.peerFingerprint().orElseThrow());
                assertEquals(st.sessionIdHex(), ((OpsecSocket) s).security().sessionIdHex());
            }
        }
    }

    @Test
    void clientPinningAnotherKey_failsTheConnectionLoudly() throws Exception {
        TestCerts.Identity id = TestCerts.selfSignedEc("server.test");
        TestCerts.Identity other = TestCerts.selfSignedEc("someone.else");
        MemoryLink.Pair wire = MemoryLink.pair();
        try (OpsecStack client = OpsecStack.builder().address("198.18.0.1").link(wire.a())
                     .securityProtocol(TlsSecurityProtocol.builder()
                             .pinnedFingerprint(TlsSecurityProtocol.keyFingerprint(other.certificate())).build()).build();
             OpsecStack server = OpsecStack.builder().address("198.18.0.2").link(wire.b())
                     .securityProtocol(TlsSecurityProtocol.builder()
                             .serverCredentials(id.keys().getPrivate(), id.certificate()).build()).build();
             ServerSocket ss = server.serverSocketFactory().createServerSocket(7)) {
            SocketException e = assertThrows(SocketException.class,
                    () -> client.socketFactory().createSocket("198.18.0.2", 7));
            assertTrue(e.getMessage().contains("OPSEC security failure"), e.getMessage());
        }
    }
}
