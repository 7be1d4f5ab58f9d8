package io.opsec.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code opsec demo} as a newcomer runs it: the ladder, the status lines, the capture. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DemoCommandTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {}

    private Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void demo_negotiatesOpsec_runsTls_echoes_andWritesAPcap() throws Exception {
        Path pcap = dir.resolve("demo.pcap");
        Run r = run("demo", "--pcap", pcap.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("OPSEC proposal [tls]"), r.out());
        assertTrue(r.out().contains("OPSEC selection [tls]"), r.out());
        assertTrue(r.out().contains("OPSEC echo [tls]"), r.out());
        assertTrue(r.out().contains("client: opsec: secured TLSv1.2 TLS_DH_anon_WITH_AES_128_GCM_SHA256"), r.out());
        assertTrue(r.out().contains("server: opsec: secured TLSv1.2"), r.out());
        assertTrue(r.out().contains("echo:   matches"), r.out());
        assertTrue(Files.size(pcap) > 24, "empty capture");
        assertTshark(pcap);
    }

    @Test
    void peerWithoutOpsec_runsPlain() {
        Run r = run("demo", "--peer-without-opsec", "--pcap", dir.resolve("p.pcap").toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("client: opsec: plaintext (the peer did not answer the OPSEC proposal)"), r.out());
        assertTrue(r.out().contains("server: opsec: plaintext (local policy turned OPSEC off)"), r.out());
    }

    @Test
    void strippedSynAck_bothPlain_andTheLadderSaysWhy() {
        Run r = run("demo", "--strip", "synack", "--pcap", dir.resolve("s.pcap").toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("~~ a middlebox stripped the OPSEC option"), r.out());
        assertTrue(r.out().contains("server: opsec: plaintext (the OPSEC echo did not arrive"), r.out());
    }

    @Test
    void strippedAck_failsLoudly_onBothEnds() {
        Run r = run("demo", "--strip", "ack", "--pcap", dir.resolve("a.pcap").toString());
        assertEquals(Main.EXIT_FAILURE, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("client: the connection failed"), r.out());
        // The server either reset a connection its application had accepted, or reset it before accept().
        assertTrue(r.out().contains("server: the connection failed"), r.out());
        assertTrue(r.out().contains("What happened: the connection failed loudly"), r.out());
    }

    @Test
    void loss_stillCompletesTheEcho() {
        Run r = run("demo", "--loss", "0.15", "--seed", "5", "--pcap", dir.resolve("l.pcap").toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().contains("the wire lost"), r.out());
        assertTrue(r.out().contains("echo:   matches"), r.out());
    }

    @Test
    void badArguments_oneLineAndAHint_exit2() {
        for (String[] args : List.of(new String[] {"demo", "--loss", "2"}, new String[] {"demo", "--strip", "fin"},
                new String[] {"demo", "--seed", "x"}, new String[] {"demo", "--what"}, new String[] {"nosuch"})) {
            Run r = run(args);
            assertEquals(Main.EXIT_USAGE, r.status(), String.join(" ", args) + ": " + r.err());
            String[] lines = r.err().strip().split("\\R");
            assertTrue(lines[0].startsWith("opsec: "), r.err());
            assertTrue(lines.length <= 2, "more than an error and a hint: " + r.err());
            assertTrue(!r.err().contains("\tat "), "stack trace: " + r.err());
        }
    }

    /** tshark reads the capture with no malformed packet and no checksum warning. */
    private static void assertTshark(Path pcap) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/tshark")), "tshark is not installed");
        List<String> cmd = new ArrayList<>(List.of("tshark", "-r", pcap.toString(), "-o", "tcp.check_checksum:TRUE",
                "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "_ws.expert.message"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark hung");
        assertEquals(0, p.exitValue(), output);
        assertTrue(!output.contains("Malformed") && !output.toLowerCase().contains("bad checksum")
                && !output.contains("incorrect"), output);
        Process count = new ProcessBuilder("tshark", "-r", pcap.toString()).redirectErrorStream(true).start();
        String lines = new String(count.getInputStream().readAllBytes());
        assertTrue(count.waitFor(60, TimeUnit.SECONDS));
        assertTrue(lines.lines().count() >= 8, lines);
    }
}
