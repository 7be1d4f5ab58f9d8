package io.opsec.tls;

import static io.opsec.tls.Fixtures.established;
import static io.opsec.tls.Fixtures.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.link.PcapWriter;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpSegment;

/**
 * The key log's purpose, end to end: a capture of one of our TLS connections (the pumped byte
 * streams laid into TCP segments in a pcap) is decrypted by tshark (Wireshark) with nothing but
 * the key log, and shows the application's plaintext. Skipped, visibly, without tshark.
 */
class KeyLogWiresharkTest {

    private static final int CLIENT = Ipv4Address.parse("198.18.0.1");
    private static final int SERVER = Ipv4Address.parse("198.18.0.2");
    private static final int CLIENT_PORT = 40000;
    private static final int SERVER_PORT = 7;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "suite 0x{0}")
    @ValueSource(strings = {"00A6", "0034"})
    void tsharkDecryptsOurCapture_withOurKeyLog(String hex) throws Exception {
        String tshark = tshark();
        Path keys = tmp.resolve("keys.txt");
        TlsSecurityProtocol c = TlsSecurityProtocol.builder().cipherSuites(Integer.parseInt(hex, 16)).keyLog(keys).build();
        Pump p = established(c, new TlsSecurityProtocol());
        String secret = "the eagle has landed " + hex;
        send(p.client, secret.getBytes(StandardCharsets.US_ASCII));
        p.run();
        send(p.server, "roger".getBytes(StandardCharsets.US_ASCII));
        p.run();

        Path pcap = tmp.resolve("opsec-tls.pcap");
        writeCapture(p, pcap);

        List<String> out = run(tshark, "-r", pcap.toString(), "-o", "tls.keylog_file:" + keys,
                "-d", "tcp.port==" + SERVER_PORT + ",tls", "-Y", "tls.app_data",
                "-T", "fields", "-e", "tls.app_data", "-e", "data.data", "-e", "data.text");
        String all = String.join("\n", out);
        assertTrue(all.contains(hexOf(secret)) || all.contains(secret), "tshark decrypted the client's data:\n" + all);
        assertTrue(all.contains(hexOf("roger")) || all.contains("roger"), "and the server's:\n" + all);

        // Without the key log the same capture shows no plaintext.
        List<String> blind = run(tshark, "-r", pcap.toString(), "-d", "tcp.port==" + SERVER_PORT + ",tls",
                "-Y", "tls.app_data", "-T", "fields", "-e", "data.data", "-e", "data.text");
        String none = String.join("\n", blind);
        assertTrue(!none.contains(hexOf(secret)) && !none.contains(secret), none);
    }

    private static String tshark() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, "tshark");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        Assumptions.assumeTrue(false, "SKIPPED: no tshark on PATH; the key log decryption test needs it (CI installs it)");
        return null;
    }

    private static List<String> run(String... command) throws Exception {
        Process proc = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            byte[] bytes = proc.getInputStream().readAllBytes();
            assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "tshark finished");
            String text = new String(bytes, StandardCharsets.ISO_8859_1);
            assertEquals(0, proc.exitValue(), text);
            return List.of(text.split("\n"));
        } finally {
            proc.destroyForcibly();
        }
    }

    private static String hexOf(String s) {
        return java.util.HexFormat.of().formatHex(s.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Lays both byte streams into one TCP connection, in the order the pump moved them: a
     * three-way handshake, then each flight in segments of at most 1400 bytes, each acked.
     */
    private static void writeCapture(Pump p, Path file) throws Exception {
        // Interleave the flights by their order of sending: the pump alternates A then B.
        List<byte[]> fromA = p.flightsFromA;
        List<byte[]> fromB = p.flightsFromB;
        List<Object[]> order = new ArrayList<>();
        for (int i = 0; i < Math.max(fromA.size(), fromB.size()); i++) {
            if (i < fromA.size()) {
                order.add(new Object[] {true, fromA.get(i)});
            }
            if (i < fromB.size()) {
                order.add(new Object[] {false, fromB.get(i)});
            }
        }
        int[] seq = {1000, 5000}; // next sequence number of client, server
        long t = 1_700_000_000_000_000_000L;
        try (PcapWriter pcap = PcapWriter.open(file)) {
            write(pcap, t++, true, seq[0]++, 0, TcpFlags.SYN, null);
            write(pcap, t++, false, seq[1]++, seq[0], TcpFlags.SYN | TcpFlags.ACK, null);
            write(pcap, t++, true, seq[0], seq[1], TcpFlags.ACK, null);
            for (Object[] flight : order) {
                boolean a = (Boolean) flight[0];
                byte[] bytes = (byte[]) flight[1];
                for (int off = 0; off < bytes.length; off += 1400) {
                    int n = Math.min(1400, bytes.length - off);
                    byte[] part = java.util.Arrays.copyOfRange(bytes, off, off + n);
                    int me = a ? 0 : 1;
                    write(pcap, t++, a, seq[me], seq[1 - me], TcpFlags.PSH | TcpFlags.ACK, part);
                    seq[me] += n;
                    write(pcap, t++, !a, seq[1 - me], seq[me], TcpFlags.ACK, null);
                }
            }
        }
    }

    private static void write(PcapWriter pcap, long t, boolean fromClient, int seq, int ack, int flags, byte[] data)
            throws Exception {
        TcpHeader h = TcpHeader.of(fromClient ? CLIENT_PORT : SERVER_PORT, fromClient ? SERVER_PORT : CLIENT_PORT,
                seq, ack, flags, 65535, List.of());
        ByteBuf packet = PooledByteBufAllocator.DEFAULT.buffer();
        ByteBuf payload = data == null ? null : PooledByteBufAllocator.DEFAULT.buffer(data.length).writeBytes(data);
        try {
            TcpSegment.emit(packet, fromClient ? CLIENT : SERVER, fromClient ? SERVER : CLIENT, 0, h, payload);
            pcap.write(packet, t);
        } finally {
            packet.release();
            if (payload != null) {
                payload.release();
            }
        }
    }

    @Test
    void keyLogPath_isCreatedOnFirstConnection() throws Exception {
        Path keys = tmp.resolve("sub-keys.txt");
        established(TlsSecurityProtocol.builder().keyLog(keys).build(), new TlsSecurityProtocol());
        assertTrue(Files.exists(keys));
    }
}
