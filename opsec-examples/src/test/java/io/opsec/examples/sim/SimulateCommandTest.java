package io.opsec.examples.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.examples.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code opsec simulate}: the sweep, its last line, replay by seed, and the usage contract. */
class SimulateCommandTest {
    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void sweepOfSeeds_endsWithTheTally() {
        Run r = run("simulate", "--seeds", "8", "--bytes", "16384");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().endsWith("8 passed, 0 failed" + System.lineSeparator()), r.out());
    }

    @Test
    void oneSeed_withProfileAndVerbose_printsItsLine() {
        Run r = run("simulate", "--seed", "42", "--profile", "hostile", "--scenario", "bulk-both", "-v");
        assertEquals(0, r.status(), r.out() + r.err());
        assertTrue(r.out().startsWith("seed 42 hostile bulk-both: passed"), r.out());
        assertTrue(r.out().contains("1 passed, 0 failed"), r.out());
    }

    @Test
    void withOpsec_theSimulatedHostsRunTls(@TempDir Path dir) throws Exception {
        Run r = run("simulate", "--seed", "3", "--profile", "lossy", "--scenario", "bulk-both", "--opsec",
                "opportunistic", "--bytes", "20000", "--pcap", dir.toString(), "-v");
        assertEquals(0, r.status(), r.out() + r.err());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void sweepWithPcap_capturesOnlyFailingRuns(@TempDir Path dir) throws Exception {
        Run r = run("simulate", "--seeds", "2", "--bytes", "4096", "--pcap", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "passing runs of a sweep were captured");
        }
    }

    @Test
    void help_isCleanText() {
        Run r = run("simulate", "--help");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("hostile (10% loss"), r.out());
        assertEquals("", r.err(), "picocli complained about the help text");
    }

    @Test
    void badArguments_oneLineAndExit2() {
        for (String[] args : new String[][] {
                {"simulate", "--profile", "wobbly"},
                {"simulate", "--seeds", "0"},
                {"simulate", "--scenario", "nope"},
                {"simulate", "--opsec", "maybe"},
                {"simulate", "--seeds", "x"}}) {
            Run r = run(args);
            assertEquals(Main.EXIT_USAGE, r.status(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().startsWith("opsec: "), r.err());
            assertEquals(2, r.err().lines().count(), r.err());
            assertTrue(r.err().contains("--help"), r.err());
        }
        assertTrue(run("simulate", "--profile", "wobbly").err().contains("clean|lossy|hostile|loss30"));
    }
}
