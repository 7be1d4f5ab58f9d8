package io.opsec.stack.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scenarios run once each with settings the seed spread does not cover, and the simulator's own promises. */
class SimScenariosTest {

    @Test
    void thousandConnectionsAtOnce_overAHostilePath_allByteExact() {
        SimResult r = Sim.seed(1000).profile(Profile.HOSTILE).scenario(Scenario.MANY).hosts(3).connections(1000)
                .bytes(1000 * 2048L).run();
        r.assertPassed();
        assertEquals(1000, r.flows().size());
        assertTrue(r.flows().stream().allMatch(f -> f.serverReceived() > 0 && f.clientReceived() > 0));
    }

    @Test
    void sameSeed_replaysPacketForPacket_andAnotherSeedDoesNot() {
        SimResult a = Sim.seed(77).profile(Profile.HOSTILE).scenario(Scenario.BULK_BOTH).run();
        SimResult b = Sim.seed(77).profile(Profile.HOSTILE).scenario(Scenario.BULK_BOTH).run();
        SimResult c = Sim.seed(78).profile(Profile.HOSTILE).scenario(Scenario.BULK_BOTH).run();
        a.assertPassed();
        assertEquals(a.traceDigest(), b.traceDigest());
        assertEquals(a.packets(), b.packets());
        assertEquals(a.virtualNanos(), b.virtualNanos());
        assertNotEquals(a.traceDigest(), c.traceDigest());
    }

    @Test
    void linkCutForGood_bothEndsReportATimeout_withinTheBound() {
        for (Profile p : Profile.values()) {
            SimResult r = Sim.seed(5).profile(p).scenario(Scenario.LINK_CUT).run();
            r.assertPassed();
            FlowOutcome f = r.flows().get(0);
            assertTrue(f.clientError() instanceof SocketTimeoutException
                    || f.serverError() instanceof SocketTimeoutException, p + ": " + f);
        }
    }

    @Test
    void linkFlap_transferCompletesByteExact_afterThePathHeals() {
        SimResult r = Sim.seed(6).profile(Profile.LOSSY).scenario(Scenario.LINK_FLAP).run();
        r.assertPassed();
        assertTrue(r.virtualNanos() > Sim.FLAP, "the run ended before the path healed: it proves nothing");
    }

    @Test
    void simultaneousOpen_bothEndsExchangeByteExact_onEveryProfile() {
        for (Profile p : Profile.values()) {
            Sim.seed(11).profile(p).scenario(Scenario.SIMULTANEOUS_OPEN).run().assertPassed();
        }
    }

    @Test
    void abortMidTransfer_peerGetsAnError_neverACleanEnd() {
        for (Profile p : Profile.values()) {
            SimResult r = Sim.seed(12).profile(p).scenario(Scenario.ABORT).run();
            r.assertPassed();
            assertNotNull(r.flows().get(0).serverError(), p.toString());
        }
    }

    @Test
    void withNettyLeakTracking_aHostileRunReleasesEverything() {
        // The allocator's exact count is checked on every run; this also puts every buffer under
        // the test suite's PARANOID leak detector.
        Sim.seed(13).profile(Profile.HOSTILE).scenario(Scenario.BULK_BOTH).bytes(16 * 1024).leakTracking(true).run()
                .assertPassed();
    }

    @Test
    void aFailingRun_namesItsSeed_andTheCommandThatReplaysIt() {
        // A deadline too short for 30% loss: the run must fail, and say how to replay it.
        SimResult r = Sim.seed(14).profile(Profile.LOSS30).scenario(Scenario.BULK_UP)
                .deadline(java.time.Duration.ofMillis(50)).run();
        assertFalse(r.passed());
        assertTrue(r.summary().contains("seed 14"), r.summary());
        assertTrue(r.replayCommand().startsWith("java -jar opsec-examples/target/opsec.jar simulate --seed 14 --profile loss30"),
                r.replayCommand());
        assertTrue(r.report().contains("-Dsim.seed=14"), r.report());
    }

    @Test
    void pcapOfARun_isWrittenPerHost(@TempDir Path dir) throws Exception {
        Sim.seed(15).profile(Profile.LOSSY).scenario(Scenario.BULK_UP).bytes(8 * 1024).pcap(dir).run().assertPassed();
        List<Path> files;
        try (var s = Files.list(dir)) {
            files = s.sorted().toList();
        }
        assertEquals(2, files.size(), files.toString());
        for (Path f : files) {
            byte[] head = Files.readAllBytes(f);
            assertTrue(head.length > 24 + 16 * 10, f + " holds too little");
            assertEquals(0xa1b23c4d, java.nio.ByteBuffer.wrap(head).getInt(), "pcap magic (nanoseconds)");
        }
    }
}
