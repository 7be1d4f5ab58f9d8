package io.opsec.examples.nc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Two {@code opsec nc} processes talk through the UDP tunnel on 127.0.0.1 (issue 5: "two
 * {@code opsec nc} processes talk through the UDP tunnel and report {@code opsec: secured}").
 * Each process is a real JVM with its own stack; the listener says when it is listening
 * ({@code -v}), so nothing here sleeps.
 */
@Timeout(180)
class NcProcessTest {
    private static final String CLIENT = "198.18.0.1";
    private static final String SERVER = "198.18.0.2";
    private static final Duration START = Duration.ofSeconds(30);
    private static final Duration RUN = Duration.ofSeconds(90);
    private static final Pattern SESSION = Pattern.compile(" session ([0-9a-f]{64})");
    private static final String HINT = "Try 'opsec nc --help' for usage.";

    @TempDir
    Path dir;

    private final List<NcProcess> started = new ArrayList<>();
    private int clientPort;
    private int serverPort;

    @AfterEach
    void killLeftovers() {
        started.forEach(NcProcess::close);
    }

    @Test
    void listenerAndClient_mebibyteEachWay_byteExact_bothSecuredWithTheSameSessionId() throws Exception {
        byte[] up = random(1 << 20, 1);
        byte[] down = random((1 << 20) + 4321, 2);
        Path upFile = Files.write(dir.resolve("up.bin"), up);
        Path downFile = Files.write(dir.resolve("down.bin"), down);
        Path pcap = dir.resolve("listener.pcap");
        Path keylog = dir.resolve("keys.txt");
        ports();

        NcProcess listener = listener("listener", ProcessBuilder.Redirect.from(downFile.toFile()),
                "--pcap", pcap.toString(), "7");
        NcProcess client = client("client", ProcessBuilder.Redirect.from(upFile.toFile()),
                "--keylog", keylog.toString(), SERVER, "7");

        assertEquals(0, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        assertEquals(0, listener.awaitExit(RUN), () -> "listener: " + listener.stderrLines());
        assertArrayEquals(up, listener.stdout(), "client -> listener");
        assertArrayEquals(down, client.stdout(), "listener -> client");

        String l = onlyStatusLine(listener);
        String c = onlyStatusLine(client);
        assertTrue(l.startsWith("opsec: secured "), l);
        assertTrue(c.startsWith("opsec: secured "), c);
        assertEquals(sessionId(c), sessionId(l), "both ends export the same RFC 5705 session id");
        assertTrue(c.endsWith(", peer " + SERVER + ":7"), c);
        assertTrue(l.contains(", peer " + CLIENT + ":"), l);
        assertEquals(List.of("opsec: listening on " + SERVER + ":7, tunnel 127.0.0.1:" + serverPort
                + " <-> 127.0.0.1:" + clientPort, l), listener.stderrLines());
        assertEquals(List.of(c), client.stderrLines());

        // --pcap: a classic pcap of the listener's side, opening with the client's SYN.
        List<byte[]> packets = pcapPackets(pcap);
        assertTrue(packets.size() > 700, "1 MiB each way takes hundreds of segments, got " + packets.size());
        byte[] syn = packets.get(0);
        assertEquals(6, syn[9], "IPv4 protocol TCP");
        assertEquals(CLIENT, (syn[12] & 0xff) + "." + (syn[13] & 0xff) + "." + (syn[14] & 0xff) + "." + (syn[15] & 0xff));
        int tcp = (syn[0] & 0x0f) * 4;
        assertEquals(0x02, syn[tcp + 13] & 0x3f, "the first packet is a bare SYN");
        // --keylog: one NSS line for the one connection.
        List<String> keys = Files.readAllLines(keylog);
        assertEquals(1, keys.size(), keys.toString());
        assertTrue(keys.get(0).matches("CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}"), keys.get(0));
    }

    @Test
    void slowReader_clientDoneFirst_waitsUntilItsLastBytesAreAcknowledged_beforeExiting() throws Exception {
        // The listener has nothing to say, so it half-closes at once, and the client has read its
        // end while part of its own 800 KiB is still queued: the listener's stdout is held, so the
        // listener (its pipe, its socket buffers) takes only so much. The client's stack dies with
        // the process, so the client must not exit before the rest is acknowledged; it once reset
        // the connection 2 s into its close, and exited 0.
        byte[] up = random(800 * 1024, 3);
        Path upFile = Files.write(dir.resolve("up.bin"), up);
        ports();
        List<String> args = new ArrayList<>(List.of("-l", "-v", "--mtu", "576", "--ip", SERVER,
                "--udp-bind", "127.0.0.1:" + serverPort, "--udp-peer", "127.0.0.1:" + clientPort, "7"));
        NcProcess listener = NcProcess.start("listener", input(""), args, true);
        started.add(listener);
        listener.awaitStderr(s -> s.startsWith("opsec: listening on "), START);
        NcProcess client = client("client", ProcessBuilder.Redirect.from(upFile.toFile()), "--mtu", "576", SERVER, "7");
        client.awaitStderr(s -> s.startsWith("opsec: secured"), RUN);

        assertFalse(client.exitsWithin(Duration.ofSeconds(6)), () -> "the client left with data undelivered: "
                + client.stderrLines());
        listener.releaseStdout();
        assertEquals(0, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        assertEquals(0, listener.awaitExit(RUN), () -> "listener: " + listener.stderrLines());
        assertArrayEquals(up, listener.stdout());
        assertEquals(1, client.stderrLines().size(), client.stderrLines().toString());
    }

    @Test
    void listenerWithOpsecOff_bothEndsReportPlaintextAndWhy() throws Exception {
        ports();
        NcProcess listener = listener("listener", input("from the listener\n"), "--opsec", "off", "7");
        NcProcess client = client("client", input("from the client\n"), SERVER, "7");

        assertEquals(0, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        assertEquals(0, listener.awaitExit(RUN), () -> "listener: " + listener.stderrLines());
        assertEquals("from the client\n", listener.stdoutText());
        assertEquals("from the listener\n", client.stdoutText());
        assertEquals("opsec: plaintext (the peer did not answer the OPSEC proposal), peer " + SERVER + ":7",
                onlyStatusLine(client));
        String l = onlyStatusLine(listener);
        assertTrue(l.startsWith("opsec: plaintext (local policy turned OPSEC off), peer " + CLIENT + ":"), l);
    }

    @Test
    void clientRequiringOpsec_peerWithout_failsWithOneLine_exit1() throws Exception {
        ports();
        listener("listener", input(""), "--opsec", "off", "7");
        NcProcess client = client("client", input("secret\n"), "--opsec", "require", SERVER, "7");

        assertEquals(1, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        List<String> err = client.stderrLines();
        assertEquals(1, err.size(), err.toString());
        assertTrue(err.get(0).startsWith("opsec: connect to " + SERVER + ":7: "), err.get(0));
        assertEquals("", client.stdoutText());
    }

    @Test
    void connectToAPortNobodyListensOn_connectionRefused_exit1() throws Exception {
        ports();
        listener("listener", input(""), "7");
        NcProcess client = client("client", input("hello\n"), SERVER, "8");

        assertEquals(1, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        assertEquals(List.of("opsec: connect to " + SERVER + ":8: Connection refused"), client.stderrLines());
    }

    @Test
    void nobodyAtTheOtherEndOfTheTunnel_connectTimesOut_exit1() throws Exception {
        ports(); // serverPort stays unbound: every SYN is lost
        long start = System.nanoTime();
        NcProcess client = client("client", input("hello\n"), "--connect-timeout", "2", SERVER, "7");

        assertEquals(1, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        assertEquals(List.of("opsec: connect to " + SERVER + ":7: timed out after 2 s"), client.stderrLines());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(2)) >= 0);
    }

    @Test
    void peerStackRestartedMidConnection_itsResetEndsTheClient_exit1() throws Exception {
        ports();
        NcProcess first = listener("listener", ProcessBuilder.Redirect.PIPE, "7");
        NcProcess client = client("client", ProcessBuilder.Redirect.PIPE, SERVER, "7");
        client.awaitStderr(s -> s.startsWith("opsec: secured"), RUN);
        client.stdin().write("before\n".getBytes(StandardCharsets.US_ASCII));
        client.stdin().flush();
        first.awaitStdout("before\n".length(), RUN);

        // The listener's host dies without a word; a new stack takes its tunnel end and knows
        // nothing of the connection, so it answers the next segment with a RST (RFC 9293 §3.10.7.1).
        first.kill();
        first.awaitExit(START);
        listener("restarted", input(""), "9");
        client.stdin().write("after\n".getBytes(StandardCharsets.US_ASCII));
        client.stdin().flush();

        assertEquals(1, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
        List<String> err = client.stderrLines();
        assertEquals(2, err.size(), err.toString());
        assertTrue(err.get(0).startsWith("opsec: secured"), err.get(0));
        // The runtime adds what TLS makes of it: the peer's data may have been cut short.
        assertTrue(err.get(1).startsWith("opsec: " + SERVER + ":7: Connection reset"), err.get(1));
    }

    @Test
    void keepListening_acceptsConnectionsOneAfterAnother_untilKilled() throws Exception {
        ports();
        NcProcess listener = listener("listener", input(""), "-k", "7");
        for (String word : List.of("one\n", "two\n", "three\n")) {
            NcProcess client = client("client-" + word.trim(), input(word), SERVER, "7");
            assertEquals(0, client.awaitExit(RUN), () -> "client: " + client.stderrLines());
            assertTrue(onlyStatusLine(client).startsWith("opsec: secured"));
            assertEquals("", client.stdoutText(), "the listener's stdin was empty");
        }
        assertArrayEquals("one\ntwo\nthree\n".getBytes(StandardCharsets.US_ASCII),
                listener.awaitStdout("one\ntwo\nthree\n".length(), RUN));
        listener.terminate();
        listener.awaitExit(START);
        List<String> err = listener.stderrLines();
        assertEquals(4, err.size(), "listening, then one status line per connection and nothing at the kill: " + err);
        List<String> sessions = err.subList(1, 4).stream().map(NcProcessTest::sessionId).toList();
        assertEquals(3, sessions.stream().distinct().count(), "a fresh session per connection: " + sessions);
    }

    @Test
    void keepListening_aPeerKilledMidConnection_isReportedAndTheNextOneServed() throws Exception {
        ports();
        NcProcess listener = listener("listener", input(""), "-k", "7");
        NcProcess killed = client("killed", ProcessBuilder.Redirect.PIPE, SERVER, "7");
        killed.awaitStderr(s -> s.startsWith("opsec: secured"), RUN);
        listener.awaitStderr(s -> s.startsWith("opsec: secured"), RUN);

        killed.terminate(); // SIGTERM: its shutdown hook resets the connection
        killed.awaitExit(START);
        assertEquals(1, killed.stderrLines().size(), "nothing more at the kill: " + killed.stderrLines());
        String reset = listener.awaitStderr(s -> s.contains(": Connection reset"), RUN);
        assertTrue(reset.startsWith("opsec: " + CLIENT + ":"), reset);

        NcProcess next = client("next", input("next\n"), SERVER, "7");
        assertEquals(0, next.awaitExit(RUN), () -> "next: " + next.stderrLines());
        assertArrayEquals("next\n".getBytes(StandardCharsets.US_ASCII), listener.awaitStdout(5, RUN));
        assertTrue(listener.isAlive(), "-k goes on after a failed connection");
    }

    static Stream<Arguments> badArguments() {
        String[] tunnel = {"--udp-bind", "127.0.0.1:1", "--udp-peer", "127.0.0.1:2"};
        return Stream.of(
                Arguments.of(args("--ip", "198.18.0.256", tunnel, SERVER, "7"),
                        "opsec: --ip must be a dotted IPv4 address such as 198.18.0.1, not '198.18.0.256'"),
                Arguments.of(args("--ip", CLIENT, tunnel, "not-an-address", "7"),
                        "opsec: HOST must be a dotted IPv4 address such as 198.18.0.1, not 'not-an-address'"),
                Arguments.of(args("--ip", CLIENT, tunnel, SERVER, "65536"),
                        "opsec: PORT must be a number in 1..65535, not '65536'"),
                Arguments.of(args("--ip", CLIENT, tunnel), "opsec: missing PORT"),
                Arguments.of(args("-k", "--ip", CLIENT, tunnel, "7"),
                        "opsec: -k needs -l: only a listener can accept one connection after another"),
                Arguments.of(args("--mtu", "575", "--ip", CLIENT, tunnel, SERVER, "7"),
                        "opsec: --mtu must be in 576..65535, not 575"),
                Arguments.of(args("--ip", CLIENT, "--udp-bind", "127.0.0.1", "--udp-peer", "127.0.0.1:2", SERVER, "7"),
                        "opsec: --udp-bind must be HOST:PORT, such as 127.0.0.1:7001, not '127.0.0.1'"));
    }

    @ParameterizedTest
    @MethodSource("badArguments")
    void badArguments_exit2_oneLineAndTheHint_noStackTrace(List<String> args, String expected) {
        try (NcProcess nc = NcProcess.start("nc", input(""), args)) {
            assertEquals(2, nc.awaitExit(START), () -> "stderr: " + nc.stderrLines());
            assertEquals(List.of(expected, HINT), nc.stderrLines());
            assertEquals("", nc.stdoutText());
        }
    }

    // ------------------------------------------------------------------ helpers

    private void ports() {
        int[] p = NcProcess.freeUdpPorts(2);
        clientPort = p[0];
        serverPort = p[1];
    }

    /** Starts {@code nc -l -v} as 198.18.0.2 and waits until it listens. */
    private NcProcess listener(String name, ProcessBuilder.Redirect stdin, String... more) {
        List<String> a = new ArrayList<>(List.of("-l", "-v", "--ip", SERVER,
                "--udp-bind", "127.0.0.1:" + serverPort, "--udp-peer", "127.0.0.1:" + clientPort));
        a.addAll(List.of(more));
        NcProcess p = NcProcess.start(name, stdin, a);
        started.add(p);
        p.awaitStderr(s -> s.startsWith("opsec: listening on "), START);
        return p;
    }

    /** Starts {@code nc} as 198.18.0.1. */
    private NcProcess client(String name, ProcessBuilder.Redirect stdin, String... more) {
        List<String> a = new ArrayList<>(List.of("--ip", CLIENT,
                "--udp-bind", "127.0.0.1:" + clientPort, "--udp-peer", "127.0.0.1:" + serverPort));
        a.addAll(List.of(more));
        NcProcess p = NcProcess.start(name, stdin, a);
        started.add(p);
        return p;
    }

    private ProcessBuilder.Redirect input(String text) {
        try {
            Path f = Files.createTempFile(dir, "stdin", ".txt");
            Files.writeString(f, text, StandardCharsets.UTF_8);
            return ProcessBuilder.Redirect.from(f.toFile());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static List<String> args(Object... parts) {
        List<String> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof String[] many) {
                out.addAll(List.of(many));
            } else {
                out.add((String) p);
            }
        }
        return out;
    }

    /** The process's one connection status line; fails if there is not exactly one. */
    private static String onlyStatusLine(NcProcess p) {
        List<String> status = p.stderrLines().stream()
                .filter(s -> s.startsWith("opsec: secured") || s.startsWith("opsec: plaintext")).toList();
        assertEquals(1, status.size(), p + ": " + p.stderrLines());
        return status.get(0);
    }

    private static String sessionId(String statusLine) {
        Matcher m = SESSION.matcher(statusLine);
        assertTrue(m.find(), "no session id in: " + statusLine);
        return m.group(1);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The packets of a classic pcap (either byte order, micro- or nanosecond magic). */
    private static List<byte[]> pcapPackets(Path file) throws IOException {
        List<byte[]> packets = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file); DataInputStream data = new DataInputStream(in)) {
            int magic = data.readInt();
            boolean big = magic == 0xa1b23c4d || magic == 0xa1b2c3d4;
            assertTrue(big || Integer.reverseBytes(magic) == 0xa1b23c4d || Integer.reverseBytes(magic) == 0xa1b2c3d4,
                    "pcap magic " + Integer.toHexString(magic));
            data.skipNBytes(16);
            int linkType = big ? data.readInt() : Integer.reverseBytes(data.readInt());
            assertEquals(101, linkType, "LINKTYPE_RAW");
            while (in.available() > 0 || data.available() > 0) {
                data.skipNBytes(8);
                int incl = big ? data.readInt() : Integer.reverseBytes(data.readInt());
                data.skipNBytes(4);
                packets.add(data.readNBytes(incl));
            }
        }
        assertNotEquals(0, packets.size(), "empty capture");
        return packets;
    }
}
