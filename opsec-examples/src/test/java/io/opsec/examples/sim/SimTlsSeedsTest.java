package io.opsec.examples.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.sim.FlowOutcome;
import io.opsec.stack.sim.Profile;
import io.opsec.stack.sim.Scenario;
import io.opsec.stack.sim.Sim;
import io.opsec.stack.sim.SimResult;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The seeded simulator with OPSEC and TLS 1.2 on every host: the plain-TCP invariants, and no
 * split brain at scale (both ends of every connection secured, or both plain), every scenario
 * including simultaneous open.
 */
class SimTlsSeedsTest {
    private static final int SEEDS = Integer.getInteger("sim.tlsSeeds", 48);

    @TestFactory
    Stream<DynamicTest> seedsWithTls() {
        return LongStream.rangeClosed(1, SEEDS)
                .mapToObj(seed -> DynamicTest.dynamicTest("seed " + seed + " " + Profile.forSeed(seed).cliName() + " "
                        + Scenario.forSeed(seed).cliName() + " with TLS", () -> {
                            SimResult r = Sim.seed(seed).opsec(OpsecMode.OPPORTUNISTIC).run();
                            r.assertPassed();
                            for (FlowOutcome f : r.flows()) {
                                if (f.serverStatus().equals("never connected")) {
                                    continue;
                                }
                                boolean client = f.clientStatus().startsWith("secured");
                                boolean server = f.serverStatus().startsWith("secured");
                                assertEquals(client, server, "seed " + seed + " split brain: " + f);
                            }
                            if (Profile.forSeed(seed) == Profile.CLEAN) {
                                assertTrue(r.flows().stream().allMatch(f -> f.clientStatus().startsWith("secured")),
                                        "seed " + seed + ": a clean path did not secure every connection");
                            }
                        }));
    }
}
