package io.opsec.stack.sim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The seeded simulator over many seeds, spread over the four profiles and every scenario (seed
 * {@code s} runs {@link Profile#forSeed} and {@link Scenario#forSeed}): 64 KiB each way per run.
 * A failure names its seed and the command that replays it.
 */
class SimSeedsTest {
    /** How many seeds CI runs; {@code -Dsim.seeds=10000} for a long run. */
    private static final int SEEDS = Integer.getInteger("sim.seeds", 320);
    private static final long FIRST = Long.getLong("sim.firstSeed", 1);

    @TestFactory
    Stream<DynamicTest> seeds() {
        return LongStream.range(FIRST, FIRST + SEEDS).mapToObj(seed -> DynamicTest.dynamicTest(
                "seed " + seed + " " + Profile.forSeed(seed).cliName() + " " + Scenario.forSeed(seed).cliName(),
                () -> Sim.seed(seed).run().assertPassed()));
    }

    /**
     * Replays one run: {@code -Dsim.seed=S [-Dsim.profile=P] [-Dsim.scenario=X] [-Dsim.bytes=N]
     * [-Dsim.pcap=DIR]}; does nothing without {@code sim.seed}.
     */
    @Test
    void replay() {
        String seed = System.getProperty("sim.seed");
        if (seed == null) {
            return;
        }
        Sim sim = Sim.seed(Long.parseLong(seed));
        String p = System.getProperty("sim.profile");
        if (p != null) {
            sim.profile(Profile.parse(p));
        }
        String s = System.getProperty("sim.scenario");
        if (s != null) {
            sim.scenario(Scenario.parse(s));
        }
        Long bytes = Long.getLong("sim.bytes");
        if (bytes != null) {
            sim.bytes(bytes);
        }
        String pcap = System.getProperty("sim.pcap");
        if (pcap != null) {
            sim.pcap(java.nio.file.Path.of(pcap));
        }
        sim.leakTracking(Boolean.getBoolean("sim.leakTracking"));
        SimResult r = sim.run();
        System.out.println(r.report());
        r.assertPassed();
    }
}
