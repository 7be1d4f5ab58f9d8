package io.opsec.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code opsec conform}: the summary line, known failures apart, exit statuses. */
class ConformCommandTest {
    private static final String PASSING = """
            // CLOSED + a SYN: RST,ACK
            0 < S 0:0(0) win 65535 <mss 1460>
            +0 > R. 0:0(0) ack 1
            """;
    private static final String FAILING = """
            0 < S 0:0(0) win 65535 <mss 1460>
            +0 > R. 0:0(0) ack 2
            """;

    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void folderOfScripts_endsWithTheSummary_andFailsOnAFailure() throws Exception {
        Files.writeString(dir.resolve("a-pass.pkt"), PASSING);
        Files.writeString(dir.resolve("b-fail.pkt"), FAILING);
        Files.writeString(dir.resolve("c-known.pkt"), "# status: known-failure shown apart\n" + FAILING);
        Run r = run("conform", dir.toString());
        assertEquals(1, r.status(), r.err());
        assertTrue(r.out().contains("FAIL  " + dir.resolve("b-fail.pkt")), r.out());
        assertTrue(r.out().contains("differs in: ack 1 vs 2"), r.out());
        assertTrue(r.out().contains("KNOWN " + dir.resolve("c-known.pkt") + ": shown apart"), r.out());
        assertTrue(r.out().strip().endsWith("1 passed, 1 failed (1 known failure reported apart)"), r.out());
    }

    @Test
    void allPassing_exitsZero() throws Exception {
        Path f = dir.resolve("ok.pkt");
        Files.writeString(f, PASSING);
        Run r = run("conform", f.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().strip().endsWith("1 passed, 0 failed"), r.out());
    }

    @Test
    void missingPath_isAUsageError() {
        Run r = run("conform", dir.resolve("nope").toString());
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("opsec: no such file or folder"), r.err());
        assertTrue(r.err().contains("Try 'opsec conform --help' for usage."), r.err());
        assertEquals(2, r.err().lines().count(), r.err());
    }
}
