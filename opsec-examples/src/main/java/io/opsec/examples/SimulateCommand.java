package io.opsec.examples;

import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.sim.Profile;
import io.opsec.stack.sim.Scenario;
import io.opsec.stack.sim.Sim;
import io.opsec.stack.sim.SimResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code opsec simulate}: runs the seeded simulator over a range of seeds, one line per failure
 * with the command that replays it, and a last line {@code N passed, M failed}. Exit status 0
 * when every seed passed, 1 when any failed, 2 for bad arguments.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = {"Runs the seeded network simulator: stacks on virtual time over impaired links.",
                "Checks byte-exact delivery, clean endings, bounded lifetimes, no leaks, no escaped exceptions.",
                "Without --profile and --scenario, seed s runs profile (s mod 4) and scenario ((s / 4) mod 9)."})
final class SimulateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "1",
            description = "How many seeds to run, from --seed on. Default: ${DEFAULT-VALUE}.")
    long seeds;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "The first seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--profile", paramLabel = "P",
            description = "clean, lossy (1%% loss), hostile (10%% loss, 5%% reordering, 1%% duplication, 0.1%% "
                    + "corruption) or loss30. Default: spread over the seeds.")
    String profile;

    @Option(names = "--scenario", paramLabel = "X",
            description = "bulk-up, bulk-down, bulk-both, many, simultaneous-open, simultaneous-close, abort, "
                    + "link-cut or link-flap. Default: spread over the seeds.")
    String scenario;

    @Option(names = "--bytes", paramLabel = "N", description = "Bytes each sender sends (the total for 'many'). "
            + "Default: 65536.")
    Long bytes;

    @Option(names = "--hosts", paramLabel = "N", defaultValue = "2", description = "Hosts. Default: ${DEFAULT-VALUE}.")
    int hosts;

    @Option(names = "--connections", paramLabel = "N", description = "Connections of the 'many' scenario. Default: 32.")
    Integer connections;

    @Option(names = "--opsec", paramLabel = "MODE", defaultValue = "off",
            description = "off (plain TCP, as CI), opportunistic or required (OPSEC with TLS). Default: ${DEFAULT-VALUE}.")
    String opsec;

    @Option(names = "--pcap", paramLabel = "DIR", description = {"Write a pcap per host into DIR: of the run, for one "
            + "seed; of each failing run (replayed with the capture on), for several."})
    Path pcap;

    @Option(names = {"-v", "--verbose"}, description = "One line per seed, passed or not, and every failure in full.")
    boolean verbose;

    @Override
    public Integer call() {
        if (seeds < 1) {
            throw usage("--seeds must be at least 1, not " + seeds);
        }
        if (seed > Long.MAX_VALUE - seeds) {
            throw usage("--seed " + seed + " plus --seeds " + seeds + " overflows");
        }
        if (hosts < 2 || hosts > 250) {
            throw usage("--hosts must be 2..250, not " + hosts);
        }
        if (bytes != null && bytes < 2) {
            throw usage("--bytes must be at least 2, not " + bytes);
        }
        if (connections != null && (connections < 1 || connections > 10_000)) {
            throw usage("--connections must be 1..10000, not " + connections);
        }
        Profile fixedProfile = parse(() -> profile == null ? null : Profile.parse(profile));
        Scenario fixedScenario = parse(() -> scenario == null ? null : Scenario.parse(scenario));
        OpsecMode mode = parse(() -> OpsecMode.valueOf(opsec.trim().toUpperCase(Locale.ROOT)));
        PrintWriter out = spec.commandLine().getOut();
        long passed = 0;
        long failed = 0;
        for (long s = seed; s < seed + seeds; s++) {
            Sim sim = Sim.seed(s).hosts(hosts).opsec(mode);
            if (fixedProfile != null) {
                sim.profile(fixedProfile);
            }
            if (fixedScenario != null) {
                sim.scenario(fixedScenario);
            }
            if (bytes != null) {
                sim.bytes(bytes);
            }
            if (connections != null) {
                sim.connections(connections);
            }
            if (pcap != null && seeds == 1) {
                sim.pcap(pcap);
            }
            SimResult r = sim.run();
            if (!r.passed() && pcap != null && seeds > 1) {
                // Replaying is exact, so the capture of the replay is the capture of the failure.
                SimResult again = sim.pcap(pcap).run();
                if (!again.traceDigest().equals(r.traceDigest())) {
                    out.println("seed " + s + ": WARNING: the replay differs from the run (nondeterminism)");
                }
            }
            if (r.passed()) {
                passed++;
                if (verbose) {
                    out.println(r.summary());
                }
            } else {
                failed++;
                out.println(verbose ? r.report().stripTrailing() : r.summary());
            }
            out.flush();
        }
        out.println(passed + " passed, " + failed + " failed");
        out.flush();
        return failed == 0 ? 0 : Main.EXIT_FAILURE;
    }

    /** A bad argument found after parsing: the same one line and hint as a parse error, exit 2. */
    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private <T> T parse(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage();
            if (msg != null && msg.startsWith("No enum constant")) {
                msg = "--opsec must be off, opportunistic or required";
            }
            throw usage(msg);
        }
    }
}
