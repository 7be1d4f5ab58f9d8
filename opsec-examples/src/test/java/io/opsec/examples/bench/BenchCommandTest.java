package io.opsec.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.examples.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code opsec bench} in its tiny mode: the table's shape and the closing line. The figures of a
 * tiny run mean nothing and no target is asserted here (issue 8: never in a timed test).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BenchCommandTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void tinyRun_printsEveryRowWithItsTarget_andEndsWithTheScore() {
        Run r = run("bench", "--tiny");
        assertEquals(0, r.status(), r.out() + r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(Table.HEADER, lines.get(0));
        assertTrue(lines.get(lines.size() - 1).matches("targets met: \\d of 9"), lines.get(lines.size() - 1));
        for (String row : List.of("bulk plain, MemoryLink MTU 65535 vs kernel", "bulk plain, MemoryLink MTU 1500 vs kernel",
                "bulk OPSEC/TLS AES-128-GCM 0x00A6 vs BC TLS", "bulk OPSEC/TLS AES-128-CBC-SHA 0x0034 vs BC TLS",
                "connection rate, TCP vs kernel", "connection rate, TCP+OPSEC+TLS vs BC TLS",
                "1-byte round trip p50 vs kernel", "1-byte round trip p99 vs kernel",
                "UDP tunnel MTU 1500, 2 processes vs kernel", "memory per idle plain connection",
                "memory per idle secured connection", "idle plain connections in a 1 GiB heap",
                "CPU per GiB, plain MTU 65535 vs kernel", "CPU per GiB, TLS AES-128-GCM vs BC TLS")) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith(row)), "no row " + row + " in\n" + r.out());
        }
        long judged = lines.stream().filter(l -> l.endsWith(" met") || l.endsWith(" MISSED")).count();
        assertEquals(9, judged, r.out());
        assertFalse(r.err().contains("FAILED"), r.err()); // every measurement ran, however small
    }

    @Test
    void sweep_writesCsvsAndAPlot() throws Exception {
        Run r = run("bench", "--tiny", "--only", "rtt", "--sweep", dir.toString());
        assertEquals(0, r.status(), r.out() + r.err());
        assertEquals("mtu,mib_per_s", Files.readAllLines(dir.resolve("mtu.csv")).get(0));
        assertEquals(Sweep.MTUS.length + 1, Files.readAllLines(dir.resolve("mtu.csv")).size());
        assertEquals(Sweep.LOSSES.length + 1, Files.readAllLines(dir.resolve("loss.csv")).size());
        String svg = Files.readString(dir.resolve("throughput.svg"));
        assertTrue(svg.startsWith("<svg") && svg.trim().endsWith("</svg>"), svg);
        assertEquals(2, svg.split("<polyline").length - 1, svg);
    }

    @Test
    void unknownGroup_isAUsageError() {
        Run r = run("bench", "--only", "everything");
        assertEquals(Main.EXIT_USAGE, r.status());
        List<String> err = r.err().lines().toList();
        assertEquals(2, err.size(), r.err());
        assertTrue(err.get(0).startsWith("opsec: unknown group 'everything'"), r.err());
        assertTrue(err.get(1).contains("--help"), r.err());
    }

    @Test
    void row_judgesRatioAndAbsoluteTargets_andInformationalRowsAreNotCounted() {
        Row fast = new Row("a", 200, 100, "MiB/s", Row.Target.ratioAtLeast(2.0));
        Row slow = new Row("b", 199, 100, "MiB/s", Row.Target.ratioAtLeast(2.0));
        Row quick = new Row("c", 10, 30, "us", Row.Target.ratioAtMost(0.5));
        Row small = new Row("d", 15.9, Double.NaN, "KiB", Row.Target.oursAtMost(16, "KiB"));
        Row failed = new Row("e", Double.NaN, 100, "MiB/s", Row.Target.ratioAtLeast(1.0));
        Row info = new Row("f", 1, 2, "s", null);
        assertTrue(fast.met());
        assertFalse(slow.met());
        assertTrue(quick.met());
        assertTrue(small.met());
        assertFalse(failed.met());
        assertNull(info.met());
        Table t = new Table();
        List.of(fast, slow, quick, small, failed, info).forEach(t::add);
        StringWriter sw = new StringWriter();
        t.print(new PrintWriter(sw));
        assertTrue(sw.toString().endsWith("targets met: 3 of 5" + System.lineSeparator()), sw.toString());
        assertTrue(Table.format(failed).contains(" - "), Table.format(failed));
    }

    @Test
    void percentiles_areNearestRank() {
        double[] xs = {5, 1, 4, 2, 3};
        assertEquals(3, Stats.median(xs));
        assertEquals(5, Stats.percentile(xs, 99));
        assertEquals(1, Stats.percentile(xs, 1));
    }
}
