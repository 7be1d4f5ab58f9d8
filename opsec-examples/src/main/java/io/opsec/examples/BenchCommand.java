package io.opsec.examples;

import io.opsec.examples.bench.Bench;
import io.opsec.examples.bench.Sweep;
import io.opsec.examples.bench.Table;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code opsec bench}: opsec-stack's throughput, connection rate, round trip and memory, each
 * beside its baseline (kernel TCP on loopback, BouncyCastle TLS over it) measured in the same
 * run; a table of figures, ratios and targets, ending in "targets met: X of Y". Progress goes
 * to stderr, the table to stdout. Exit status 0 whether or not the targets are met.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures opsec-stack against kernel TCP and BouncyCastle TLS over kernel loopback, and prints",
                "figures, ratios and targets. See docs/performance.md."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--quick", description = "Smaller counts: finishes in under 3 minutes.")
    boolean quick;

    @Option(names = "--tiny", hidden = true, description = "Seconds in all, figures meaningless (for tests).")
    boolean tiny;

    @Option(names = "--only", split = ",", paramLabel = "GROUP",
            description = "Run only these groups: bulk, tls, connect, rtt, tunnel, memory.")
    List<String> only = List.of();

    @Option(names = "--sweep", paramLabel = "DIR",
            description = "Also sweep throughput against MTU and loss; write CSVs and an SVG plot into DIR.")
    Path sweep;

    @Override
    public Integer call() throws Exception {
        Set<String> groups = new LinkedHashSet<>(only);
        for (String g : groups) {
            if (!Bench.GROUPS.contains(g)) {
                throw new ParameterException(spec.commandLine(),
                        "unknown group '" + g + "' for --only (bulk, tls, connect, rtt, tunnel, memory)");
            }
        }
        if (quick && tiny) {
            throw new ParameterException(spec.commandLine(), "--quick and --tiny are exclusive");
        }
        Bench.Size size = tiny ? Bench.Size.TINY : quick ? Bench.Size.QUICK : Bench.Size.FULL;
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter progress = spec.commandLine().getErr();
        progress.println("# opsec bench (" + size.name().toLowerCase() + "): " + Runtime.getRuntime().availableProcessors()
                + " cpus, Java " + System.getProperty("java.vm.version") + ", max heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB");
        long t0 = System.nanoTime();
        Table table = new Bench(size, groups, progress).run();
        if (sweep != null) {
            new Sweep(size, progress).run(sweep);
        }
        table.print(out);
        progress.printf("# finished in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        progress.flush();
        return 0;
    }
}
