package io.opsec.stack.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/**
 * The runner itself: it passes a correct trace and catches each kind of difference, so a script
 * that passes means what it says.
 */
class ScriptRunnerTest {
    /** A passive open and one data segment each way, correct for this stack. */
    private static final String GOOD = """
            0    socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
            +0   bind(3, ..., ...) = 0
            +0   listen(3, 1) = 0
            +0   < S 0:0(0) win 65535 <mss 1460>
            +0   > S. 0:0(0) ack 1 <mss 1460>
            +.1  < . 1:1(0) ack 1 win 65535
            +0   accept(3, ..., ...) = 4
            +0   write(4, ..., 100) = 100
            +0   > P. 1:101(100) ack 1
            +.1  < P. 1:51(50) ack 101 win 65535
            +.2  > . 101:101(0) ack 51
            +0   read(4, ..., 1000) = 50
            """;

    private static ScriptResult run(String text) {
        return Conformance.runText("inline", text, PooledByteBufAllocator.DEFAULT);
    }

    private static ScriptResult runGood(String from, String to) {
        assertTrue(GOOD.contains(from), from);
        return run(GOOD.replace(from, to));
    }

    @Test
    void correctTrace_passes() {
        ScriptResult r = run(GOOD);
        assertEquals(ScriptResult.Status.PASSED, r.status(), r.message());
    }

    @Test
    void wrongFlags_fail_showingExpectedAndActual() {
        ScriptResult r = runGood("> P. 1:101(100) ack 1", "> . 1:101(100) ack 1");
        assertEquals(ScriptResult.Status.FAILED, r.status());
        assertTrue(r.message().contains("expected > . 1:101(100) ack 1"), r.message());
        assertTrue(r.message().contains("actual:   > P. 1:101(100) ack 1"), r.message());
        assertTrue(r.message().contains("flags P. vs ."), r.message());
    }

    @Test
    void wrongRelativeSeq_fails() {
        assertEquals(ScriptResult.Status.FAILED, runGood("> P. 1:101(100)", "> P. 2:102(100)").status());
    }

    @Test
    void wrongAck_fails() {
        ScriptResult r = runGood("+.2  > . 101:101(0) ack 51", "+.2  > . 101:101(0) ack 50");
        assertTrue(r.message().contains("ack 51 vs 50"), r.message());
    }

    @Test
    void wrongWindow_fails_whenWritten() {
        ScriptResult r = runGood("> S. 0:0(0) ack 1 <mss 1460>", "> S. 0:0(0) ack 1 win 1 <mss 1460>");
        assertTrue(r.message().contains("win 65535 vs 1"), r.message());
    }

    @Test
    void wrongOptions_fail_andMissingOptionsToo() {
        assertTrue(runGood("> S. 0:0(0) ack 1 <mss 1460>", "> S. 0:0(0) ack 1 <mss 1400>").message()
                .contains("options <mss 1460> vs <mss 1400>"));
        assertTrue(runGood("> S. 0:0(0) ack 1 <mss 1460>", "> S. 0:0(0) ack 1").message()
                .contains("options <mss 1460> vs <>"));
        assertEquals(ScriptResult.Status.PASSED,
                runGood("> S. 0:0(0) ack 1 <mss 1460>", "> S. 0:0(0) ack 1 <...>").status());
    }

    @Test
    void wrongTime_fails_unlessWithinTolerance() {
        // the delayed ACK leaves 200 ms after the data, not 190 ms
        ScriptResult r = runGood("+.2  > . 101:101(0) ack 51", "+.19  > . 101:101(0) ack 51");
        assertTrue(r.message().contains("nothing by 0.390000s"), r.message());
        r = runGood("+.2  > . 101:101(0) ack 51", "+.21  > . 101:101(0) ack 51");
        assertTrue(r.message().contains("early by 10000 us"), r.message());
        assertEquals(ScriptResult.Status.PASSED,
                run("--tolerance_usecs=10000\n" + GOOD.replace("+.2  > . 101", "+.21  > . 101")).status());
    }

    @Test
    void anUnexpectedSegment_fails() {
        // without the expect line, the delayed ACK at 0.4 s comes before the read at 0.5 s
        ScriptResult r = runGood("+.2  > . 101:101(0) ack 51\n+0   read", "+.3 read");
        assertEquals(ScriptResult.Status.FAILED, r.status());
        assertTrue(r.message().contains("unexpected segment before line 11"), r.message());
        assertTrue(r.message().contains("actual:   > . 101:101(0) ack 51 win 65485  at 0.400000s"), r.message());
    }

    @Test
    void wrongCallResults_fail() {
        assertTrue(runGood("read(4, ..., 1000) = 50", "read(4, ..., 1000) = 49").message()
                .contains("returned 50, expected 49"));
        assertTrue(runGood("+0   accept(3, ..., ...) = 4", "-0 accept(3, ..., ...) = 4").status()
                == ScriptResult.Status.FAILED);
    }

    @Test
    void asserts_areChecked() {
        assertEquals(ScriptResult.Status.PASSED, run(GOOD + "+0 %{ assert tcpi_state == TCP_ESTABLISHED }%\n").status());
        ScriptResult r = run(GOOD + "+0 %{ assert tcpi_state == TCP_CLOSE_WAIT }%\n");
        assertTrue(r.message().contains("tcpi_state is TCP_ESTABLISHED"), r.message());
    }

    @Test
    void knownFailure_isReportedApart_andAPassingOneIsFlagged() {
        ScriptResult r = run("# status: known-failure demonstrates the status line\n"
                + GOOD.replace("ack 51\n", "ack 52\n"));
        assertEquals(ScriptResult.Status.KNOWN_FAILURE, r.status());
        assertEquals("demonstrates the status line", r.reason());
        assertEquals(ScriptResult.Status.UNEXPECTED_PASS, run("# status: known-failure x\n" + GOOD).status());
    }

    @Test
    void unsupportedThings_failWithAReason() {
        assertTrue(run("--mystery=1\n" + GOOD).message().contains("unsupported header option"));
        assertTrue(run("`sysctl -q net.ipv4.tcp_sack=0`\n" + GOOD).message().contains("shell commands"));
        assertTrue(run("0 < S 0:0(0) win 1 <md5 abc>\n").message().contains("unsupported option"));
    }

    @Test
    void parser_readsPacketdrillSyntax() throws Exception {
        Script s = ScriptParser.parse("x", """
                /* block
                   comment */
                --tolerance_usecs=5000
                0.100 < S. 4294967295:9(10) ack 7 win 1 <mss 536,sackOK,TS val 1 ecr 2,nop,wscale 14,sack 1:2 3:4,eol>
                +.5~+.7 > FP. 1:1(0) ack 1 <opsec [0,7],opsec-literal(200) [],raw(253) 454e00>
                * %{ assert tcpi_state == TCP_CLOSE; assert tcpi_rto >= 200000 }%
                """);
        assertEquals("5000", s.options().get("tolerance_usecs"));
        ScriptEvent.Segment a = (ScriptEvent.Segment) s.events().get(0);
        assertEquals(100_000, a.time().startUs());
        assertEquals(4294967295L, a.seq());
        assertEquals(10, a.len());
        assertEquals(7, a.options().size());
        ScriptEvent.Segment b = (ScriptEvent.Segment) s.events().get(1);
        assertEquals(ScriptEvent.Time.Kind.RELATIVE, b.time().kind());
        assertEquals(700_000, b.time().endUs());
        assertEquals(3, b.options().size());
        assertEquals(2, ((ScriptEvent.Assert) s.events().get(2)).checks().size());
        assertThrows(ScriptParser.ScriptException.class, () -> ScriptParser.parse("x", "0 > S 0:1(0)\n"));
    }
}
