package io.opsec.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.crypto.DHGroup;
import org.bouncycastle.tls.crypto.DHStandardGroups;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityContext.Role;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;
import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * Interoperability with a real, independent TLS implementation: OpenSSL's {@code s_server} and
 * {@code s_client} as child processes on kernel loopback TCP (127.0.0.1, ephemeral ports), in
 * both roles, for every anonymous suite, with the RFC 7919 ffdhe2048 group; plus the refusal of a
 * 1024-bit group, the RFC 5705 exporter and the key log compared with OpenSSL's own, and
 * certificate-authenticated suites. Skipped, visibly, only when no {@code openssl} is installed
 * (CI installs it).
 */
class OpenSslInteropTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    static String version;
    static Path ffdhe2048;
    static Path weak1024;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void openssl() throws Exception {
        version = OpenSsl.version();
        Assumptions.assumeTrue(version != null,
                "SKIPPED: no openssl binary on PATH; OpenSSL interop tests need it (CI installs it)");
        System.out.println("OpenSSL interop against: " + version);
        ffdhe2048 = tmp.resolve("ffdhe2048.pem");
        try (InputStream in = OpenSslInteropTest.class.getResourceAsStream("/dh/ffdhe2048.pem")) {
            Files.write(ffdhe2048, in.readAllBytes());
        }
        weak1024 = tmp.resolve("rfc2409-1024.pem");
        writeDhParams(weak1024, DHStandardGroups.rfc2409_1024);
    }

    @Test
    void shippedDhParams_areExactlyRfc7919Ffdhe2048() throws Exception {
        ASN1Sequence seq = ASN1Sequence.getInstance(pemBody(Files.readString(ffdhe2048)));
        assertEquals(DHStandardGroups.rfc7919_ffdhe2048.getP(), ASN1Integer.getInstance(seq.getObjectAt(0)).getValue());
        assertEquals(DHStandardGroups.rfc7919_ffdhe2048.getG(), ASN1Integer.getInstance(seq.getObjectAt(1)).getValue());
    }

    // ---- our client, OpenSSL server ----

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "ADH-AES128-GCM-SHA256, 00A6",
            "ADH-AES256-GCM-SHA384, 00A7",
            "ADH-AES128-SHA, 0034",
            "ADH-AES256-SHA, 003A",
            "ADH-AES128-SHA256, 006C",
            "ADH-AES256-SHA256, 006D"})
    void ourClient_opensslServer_exchangeDataByteExact(String opensslCipher, String suiteHex) throws Exception {
        int port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-quiet", "-nocert", "-tls1_2",
                "-accept", "127.0.0.1:" + port, "-naccept", "1",
                "-cipher", opensslCipher + ":@SECLEVEL=0", "-dhparam", ffdhe2048.toString()));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                assertTrue(d.until(s::isEstablished, TIMEOUT), server::describe);
                assertEquals(Integer.parseInt(suiteHex, 16), s.info().cipherSuiteCode());
                // OpenSSL sends the group explicitly (no RFC 7919 negotiation in its TLS 1.2);
                // we recognise it as ffdhe2048.
                assertEquals("ffdhe2048", s.info().keyExchangeGroup().orElseThrow());

                byte[] up = random(100_000, 1);
                d.send(up);
                assertTrue(server.awaitStdoutBytes(up.length, TIMEOUT), server::describe);
                assertArrayEquals(up, server.stdout(), "OpenSSL received exactly what we sent");

                byte[] down = random(50_000, 2);
                server.write(down);
                assertTrue(d.until(() -> d.received.size() >= down.length, TIMEOUT), server::describe);
                assertArrayEquals(down, d.received.toByteArray(), "we received exactly what OpenSSL sent");

                d.closeOutput();
                // OpenSSL answers our close_notify with its own and closes: a clean end.
                assertTrue(d.until(() -> d.eof, TIMEOUT), server::describe);
                assertTrue(s.isInboundClosed(), "OpenSSL sent close_notify before FIN");
            }
        }
    }

    @Test
    void ourClient_refusesOpensslServerWith1024BitGroup() throws Exception {
        int port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-quiet", "-nocert", "-tls1_2",
                "-accept", "127.0.0.1:" + port, "-naccept", "1",
                "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", weak1024.toString()));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                SecurityFailure f = assertThrows(SecurityFailure.class, () -> d.until(() -> false, TIMEOUT));
                Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_SENT, AlertDescription.insufficient_security,
                        "insufficient_security");
                d.flush(); // the alert goes to OpenSSL
                assertTrue(server.awaitExit(Duration.ofSeconds(5)), server::describe);
                assertTrue(server.stderrText().contains("insufficient security"), server::describe);
            }
        }
    }

    @Test
    void ourClient_refusesOpensslServerWithDefaultDhParameters() throws Exception {
        // Measured: without -dhparam, OpenSSL 3.0's "auto" DH gives anonymous suites 80 bits of
        // security, that is the 1024-bit RFC 2409 group, which we refuse (RFC 7919; READING-NOTES
        // decision 8). An OpenSSL server must be given -dhparam ffdhe2048 (or larger).
        int port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-quiet", "-nocert", "-tls1_2",
                "-accept", "127.0.0.1:" + port, "-naccept", "1", "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0"));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                SecurityFailure f = assertThrows(SecurityFailure.class, () -> d.until(() -> false, TIMEOUT));
                Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_SENT, AlertDescription.insufficient_security,
                        "insufficient_security");
            }
        }
    }

    @Test
    void ourClient_exporterSessionId_equalsOpenssls() throws Exception {
        int port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-nocert", "-tls1_2",
                "-accept", "127.0.0.1:" + port, "-naccept", "1",
                "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", ffdhe2048.toString(),
                "-keymatexport", TlsSecurityProtocol.SESSION_ID_EXPORTER_LABEL, "-keymatexportlen", "32"));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                assertTrue(d.until(s::isEstablished, TIMEOUT), server::describe);
                assertEquals(keyingMaterial(server), s.info().sessionIdHex());
            }
        }
    }

    @Test
    void ourClient_opensslServerWithEcdsaCertificate_opportunisticThenPinned() throws Exception {
        TestCerts.Identity id = TestCerts.selfSignedEc("openssl.server.test");
        Path cert = writePem(tmp.resolve("server-cert.pem"), "CERTIFICATE", id.certificate().getEncoded());
        Path key = writePem(tmp.resolve("server-key.pem"), "PRIVATE KEY", id.keys().getPrivate().getEncoded());
        byte[] fingerprint = TlsSecurityProtocol.keyFingerprint(id.certificate());

        // 1. No trust configuration: accepted, key reported.
        int port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-quiet", "-tls1_2", "-accept", "127.0.0.1:" + port,
                "-naccept", "1", "-cert", cert.toString(), "-key", key.toString(),
                "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                assertTrue(d.until(s::isEstablished, TIMEOUT), server::describe);
                assertEquals(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, s.info().cipherSuiteCode());
                assertEquals(PeerAuthentication.UNVERIFIED, s.info().peerAuthentication());
                assertArrayEquals(fingerprint, s.info().peerKeyFingerprint().orElseThrow());
            }
        }
        // 2. The wrong pin: bad_certificate, and OpenSSL hears it.
        port = freePort();
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-quiet", "-tls1_2", "-accept", "127.0.0.1:" + port,
                "-naccept", "1", "-cert", cert.toString(), "-key", key.toString()));
             Socket socket = connect(port, server)) {
            byte[] wrong = fingerprint.clone();
            wrong[0] ^= 1;
            SecuritySession s = clientSession(TlsSecurityProtocol.builder().pinnedFingerprint(wrong).build(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                SecurityFailure f = assertThrows(SecurityFailure.class, () -> d.until(() -> false, TIMEOUT));
                Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_SENT, AlertDescription.bad_certificate,
                        "bad_certificate");
                d.flush();
                assertTrue(server.awaitExit(Duration.ofSeconds(5)), server::describe);
                assertTrue(server.stderrText().contains("bad certificate"), server::describe);
            }
        }
    }

    @Test
    void ourClient_refusesRenegotiationRequestedByOpensslServer() throws Exception {
        int port = freePort();
        // Not -quiet: s_server then reads commands from stdin; "r" sends a HelloRequest.
        try (OpenSsl server = new OpenSsl(List.of("s_server", "-nocert", "-tls1_2",
                "-accept", "127.0.0.1:" + port, "-naccept", "1",
                "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0", "-dhparam", ffdhe2048.toString()));
             Socket socket = connect(port, server)) {
            SecuritySession s = clientSession(new TlsSecurityProtocol(), socket);
            try (SocketDriver d = new SocketDriver(socket, s)) {
                s.start();
                assertTrue(d.until(s::isEstablished, TIMEOUT), server::describe);
                int before = d.sentRecordTypes.size();
                server.write("r\n".getBytes(StandardCharsets.US_ASCII));
                SecurityFailure f = null;
                try {
                    d.until(() -> false, TIMEOUT); // ends early: OpenSSL aborts
                } catch (SecurityFailure e) {
                    f = e;
                }
                List<Integer> after = d.sentRecordTypes.subList(before, d.sentRecordTypes.size());
                // Decision 7: we answer with one alert record (no_renegotiation, a warning, RFC 5746
                // §4.2), never a new ClientHello. Measured: OpenSSL then gives up the connection
                // with a fatal handshake_failure, which fails our session too.
                assertEquals(List.of(21), after);
                Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_RECEIVED, AlertDescription.handshake_failure,
                        "handshake_failure");
            }
        }
    }

    // ---- OpenSSL client, our server ----

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "ADH-AES128-GCM-SHA256, 00A6",
            "ADH-AES256-GCM-SHA384, 00A7",
            "ADH-AES128-SHA, 0034",
            "ADH-AES256-SHA, 003A",
            "ADH-AES128-SHA256, 006C",
            "ADH-AES256-SHA256, 006D"})
    void opensslClient_ourServer_exchangeDataByteExact_andKeyLogsAgree(String opensslCipher, String suiteHex)
            throws Exception {
        List<String> ourKeyLog = new CopyOnWriteArrayList<>();
        Path theirKeyLog = tmp.resolve("openssl-keylog-" + opensslCipher + ".txt");
        TlsSecurityProtocol protocol = TlsSecurityProtocol.builder().keyLog(ourKeyLog::add).build();
        try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
            try (OpenSsl client = new OpenSsl(List.of("s_client", "-quiet", "-tls1_2",
                    "-connect", "127.0.0.1:" + listener.getLocalPort(),
                    "-cipher", opensslCipher + ":@SECLEVEL=0", "-keylogfile", theirKeyLog.toString()));
                 Socket socket = listener.accept()) {
                SecuritySession s = serverSession(protocol, socket);
                try (SocketDriver d = new SocketDriver(socket, s)) {
                    s.start();
                    assertTrue(d.until(s::isEstablished, TIMEOUT), client::describe);
                    assertEquals(Integer.parseInt(suiteHex, 16), s.info().cipherSuiteCode());
                    // OpenSSL 3 names ffdhe2048..8192 in supported_groups; we pick ffdhe2048 (RFC 7919 §4).
                    assertEquals("ffdhe2048", s.info().keyExchangeGroup().orElseThrow());

                    byte[] up = random(80_000, 3);
                    client.write(up);
                    assertTrue(d.until(() -> d.received.size() >= up.length, TIMEOUT), client::describe);
                    assertArrayEquals(up, d.received.toByteArray(), "we received exactly what OpenSSL sent");

                    byte[] down = random(120_000, 4);
                    d.send(down);
                    assertTrue(client.awaitStdoutBytes(down.length, TIMEOUT), client::describe);
                    assertArrayEquals(down, client.stdout(), "OpenSSL received exactly what we sent");

                    // Wireshark's view: OpenSSL's NSS key log line is the same as ours.
                    List<String> theirs = new ArrayList<>();
                    for (String line : Files.readAllLines(theirKeyLog)) {
                        if (line.startsWith("CLIENT_RANDOM ")) {
                            theirs.add(line);
                        }
                    }
                    assertEquals(theirs, ourKeyLog);

                    d.closeOutput();
                    assertTrue(client.awaitExit(TIMEOUT), client::describe);
                }
            }
        }
    }

    @Test
    void opensslClient_exporterSessionId_equalsOurs() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
            try (OpenSsl client = new OpenSsl(List.of("s_client", "-tls1_2",
                    "-connect", "127.0.0.1:" + listener.getLocalPort(),
                    "-cipher", "ADH-AES128-SHA:@SECLEVEL=0",
                    "-keymatexport", TlsSecurityProtocol.SESSION_ID_EXPORTER_LABEL, "-keymatexportlen", "32"));
                 Socket socket = listener.accept()) {
                SecuritySession s = serverSession(new TlsSecurityProtocol(), socket);
                try (SocketDriver d = new SocketDriver(socket, s)) {
                    s.start();
                    assertTrue(d.until(s::isEstablished, TIMEOUT), client::describe);
                    assertEquals(keyingMaterial(client), s.info().sessionIdHex());
                    assertTrue(client.stdoutText().contains("Extended master secret: yes"), client::describe);
                }
            }
        }
    }

    @Test
    void ourServer_refusesRenegotiationByOpensslClient() throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
            // Not -quiet: s_client then reads commands from stdin; "R" renegotiates.
            try (OpenSsl client = new OpenSsl(List.of("s_client", "-tls1_2",
                    "-connect", "127.0.0.1:" + listener.getLocalPort(), "-cipher", "ADH-AES128-GCM-SHA256:@SECLEVEL=0"));
                 Socket socket = listener.accept()) {
                SecuritySession s = serverSession(new TlsSecurityProtocol(), socket);
                try (SocketDriver d = new SocketDriver(socket, s)) {
                    s.start();
                    assertTrue(d.until(s::isEstablished, TIMEOUT), client::describe);
                    int before = d.sentRecordTypes.size();
                    client.write("R\n".getBytes(StandardCharsets.US_ASCII));
                    SecurityFailure f = null;
                    try {
                        d.until(() -> false, TIMEOUT); // ends early: OpenSSL aborts
                    } catch (SecurityFailure e) {
                        f = e;
                    }
                    List<Integer> after = d.sentRecordTypes.subList(before, d.sentRecordTypes.size());
                    // Decision 7: one alert record (no_renegotiation), never a ServerHello; measured:
                    // OpenSSL then aborts with a fatal handshake_failure.
                    assertEquals(List.of(21), after);
                    Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_RECEIVED, AlertDescription.handshake_failure,
                            "handshake_failure");
                    // Our ServerHello carried no session id, so there was nothing to resume anyway.
                    assertTrue(client.awaitStdoutText("Session-ID-ctx:", TIMEOUT), client::describe);
                    assertTrue(Pattern.compile("Session-ID: *\r?\n").matcher(client.stdoutText()).find(),
                            client::stdoutText);
                }
            }
        }
    }

    @Test
    void plainOpensslClient_ourServerWithCertificate_negotiatesEcdhe() throws Exception {
        // An ordinary TLS 1.2 client (default cipher list and security level, no ADH) still gets
        // a secured connection from a server that has a key.
        TestCerts.Identity id = TestCerts.selfSignedEc("opsec.server.test");
        TlsSecurityProtocol protocol = TlsSecurityProtocol.builder()
                .serverCredentials(id.keys().getPrivate(), id.certificate()).build();
        try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
            try (OpenSsl client = new OpenSsl(List.of("s_client", "-quiet", "-tls1_2",
                    "-connect", "127.0.0.1:" + listener.getLocalPort()));
                 Socket socket = listener.accept()) {
                SecuritySession s = serverSession(protocol, socket);
                try (SocketDriver d = new SocketDriver(socket, s)) {
                    s.start();
                    assertTrue(d.until(s::isEstablished, TIMEOUT), client::describe);
                    assertEquals(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, s.info().cipherSuiteCode());
                    d.send("hello".getBytes(StandardCharsets.US_ASCII));
                    assertTrue(client.awaitStdoutBytes(5, TIMEOUT), client::describe);
                }
            }
        }
    }

    @Test
    void plainOpensslClient_anonymousOnlyServer_isHandshakeFailure() throws Exception {
        // Without @SECLEVEL=0 OpenSSL offers no anonymous suite: nothing in common (expected).
        try (ServerSocket listener = new ServerSocket(0, 1, LOOPBACK)) {
            listener.setSoTimeout((int) TIMEOUT.toMillis());
            try (OpenSsl client = new OpenSsl(List.of("s_client", "-quiet", "-tls1_2",
                    "-connect", "127.0.0.1:" + listener.getLocalPort()));
                 Socket socket = listener.accept()) {
                SecuritySession s = serverSession(new TlsSecurityProtocol(), socket);
                try (SocketDriver d = new SocketDriver(socket, s)) {
                    s.start();
                    SecurityFailure f = assertThrows(SecurityFailure.class, () -> d.until(() -> false, TIMEOUT));
                    Fixtures.assertAlert(f, SecurityFailure.Kind.ALERT_SENT, AlertDescription.handshake_failure,
                            "handshake_failure");
                }
            }
        }
    }

    // ---- helpers ----

    private static SecuritySession clientSession(TlsSecurityProtocol p, Socket socket) {
        return p.newSession(new SecurityContext(Role.CLIENT,
                (InetSocketAddress) socket.getLocalSocketAddress(), (InetSocketAddress) socket.getRemoteSocketAddress()));
    }

    private static SecuritySession serverSession(TlsSecurityProtocol p, Socket socket) {
        return p.newSession(new SecurityContext(Role.SERVER,
                (InetSocketAddress) socket.getLocalSocketAddress(), (InetSocketAddress) socket.getRemoteSocketAddress()));
    }

    /** An ephemeral loopback port that was free a moment ago (s_server -quiet cannot report one). */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    /** Connects to a starting s_server, retrying until it listens (bounded). */
    private static Socket connect(int port, OpenSsl server) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            try {
                return new Socket(LOOPBACK, port);
            } catch (ConnectException e) {
                if (System.nanoTime() > deadline) {
                    fail("s_server never listened on " + port + ": " + server.describe());
                }
                Thread.sleep(20);
            }
        }
    }

    private static String keyingMaterial(OpenSsl openssl) throws InterruptedException {
        assertTrue(openssl.awaitStdoutText("Keying material: ", TIMEOUT), openssl::describe);
        assertTrue(openssl.awaitStdoutText("\n", TIMEOUT));
        Matcher m = Pattern.compile("Keying material: ([0-9A-Fa-f]{64})").matcher(openssl.stdoutText());
        for (int i = 0; i < 50 && !m.find(); i++) {
            Thread.sleep(20);
            m = Pattern.compile("Keying material: ([0-9A-Fa-f]{64})").matcher(openssl.stdoutText());
        }
        return m.group(1).toLowerCase();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void writeDhParams(Path file, DHGroup group) throws IOException {
        byte[] der = new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {
                new ASN1Integer(group.getP()), new ASN1Integer(group.getG())}).getEncoded();
        writePem(file, "DH PARAMETERS", der);
    }

    private static Path writePem(Path file, String type, byte[] der) throws IOException {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        Files.writeString(file, "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n",
                StandardCharsets.US_ASCII);
        return file;
    }

    private static byte[] pemBody(String pem) {
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return Base64.getDecoder().decode(b64);
    }
}
