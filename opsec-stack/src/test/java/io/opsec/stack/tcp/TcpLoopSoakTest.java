package io.opsec.stack.tcp;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Many seeds of {@link TcpLoopTest}'s bulk transfer over random profiles; excluded from the
 * default build (tag slow-manual). Run: {@code mvn -pl opsec-stack verify -Dtest=TcpLoopSoakTest
 * -Dtest.excludedGroups= -Dsoak.seeds=1000}.
 */
@Tag("slow-manual")
class TcpLoopSoakTest {
    @Test
    void manySeeds() {
        int seeds = Integer.getInteger("soak.seeds", 200);
        long first = Long.getLong("soak.first", 1000);
        List<String> failures = new ArrayList<>();
        for (long seed = first; seed < first + seeds; seed++) {
            int profile = (int) (seed % 4);
            double loss = new double[] {0, 0.01, 0.10, 0.30}[profile];
            double reorder = profile == 2 ? 0.05 : 0;
            double dup = profile == 2 ? 0.01 : 0;
            double corrupt = profile == 2 ? 0.001 : 0;
            int size = profile == 3 ? 30_000 : 200_000;
            CongestionAlgorithm cc = seed % 3 == 0 ? CongestionAlgorithm.CUBIC : CongestionAlgorithm.NEWRENO;
            try {
                TcpLoopTest.run(cc, seed, loss, reorder, dup, corrupt, size, size / 2, false);
            } catch (Throwable t) {
                failures.add("seed " + seed + " profile " + profile + " " + cc + ": " + t);
            }
        }
        failures.forEach(System.out::println);
        Assertions.assertEquals(List.of(), failures);
    }
}
