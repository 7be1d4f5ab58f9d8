package io.opsec.stack.sim;

import java.util.List;

/**
 * The outcome of one simulated run: its identity (seed, profile, scenario), the invariants it
 * broke, the command that replays it, and what it measured.
 *
 * @param virtualNanos   virtual time when every connection had ended
 * @param packets        packets the switch forwarded
 * @param goodput        for {@link Scenario#BULK_UP}, the application's bits per second from the
 *                       settled connection to the last byte received; NaN otherwise
 * @param traceDigest    SHA-256 (hex) of every forwarded packet's time and headers: equal seeds, equal digests
 * @param retransmitted  segments the hosts' TCP retransmitted, all hosts together
 * @param escaped        an exception that escaped the run, or null
 */
public record SimResult(long seed, Profile profile, Scenario scenario, String replayCommand, List<String> violations,
                        long virtualNanos, long packets, double goodput, String traceDigest, long retransmitted,
                        List<FlowOutcome> flows, Throwable escaped) {
    public SimResult {
        violations = List.copyOf(violations);
        flows = List.copyOf(flows);
    }

    /** Whether every invariant held. */
    public boolean passed() {
        return violations.isEmpty();
    }

    /** One line: "seed 42 hostile bulk-both: passed (1234 packets, 3.210 s virtual)" or the first violation. */
    public String summary() {
        String head = "seed " + seed + " " + profile.cliName() + " " + scenario.cliName() + ": ";
        if (passed()) {
            return head + "passed (" + packets + " packets, " + SimFormat.time(virtualNanos) + " virtual)";
        }
        String first = violations.get(0);
        int nl = first.indexOf('\n');
        return head + "FAILED: " + (nl >= 0 ? first.substring(0, nl) : first)
                + (violations.size() > 1 ? " (+" + (violations.size() - 1) + " more)" : "")
                + "; replay: " + replayCommand;
    }

    /** Everything, for a failure report. */
    public String report() {
        StringBuilder b = new StringBuilder(summary()).append('\n');
        for (String v : violations) {
            b.append("  - ").append(v).append('\n');
        }
        b.append("  replay: ").append(replayCommand).append('\n');
        if (!replayCommand.contains(" --opsec ")) { // opsec-stack has no security protocol to replay with
            b.append("  or: mvn -B -pl opsec-stack test -Dtest=SimSeedsTest#replay -Dsim.seed=").append(seed)
                    .append(" -Dsim.profile=").append(profile.cliName()).append(" -Dsim.scenario=")
                    .append(scenario.cliName()).append('\n');
        }
        return b.toString();
    }

    /** Throws an {@link AssertionError} with the {@link #report()} unless the run passed. */
    public void assertPassed() {
        if (!passed()) {
            throw new AssertionError(report(), escaped);
        }
    }
}
