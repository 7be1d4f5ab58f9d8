package io.opsec.examples.bench;

import io.opsec.stack.link.Impairments;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One benchmark run: every measurement of issue 8 and its baseline, in the same process, on the
 * same machine and JDK, in a fixed order, each bounded in count and time. A measurement that
 * fails or runs over its time budget gives a row without a figure (its target missed) and a line
 * on the progress stream saying why; the run goes on.
 */
public final class Bench {
    /** AES-128-GCM, anonymous DH (RFC 5288). */
    public static final int GCM = 0x00A6;
    /** AES-128-CBC-SHA, anonymous DH: the draft's MUST suite. */
    public static final int CBC = 0x0034;

    /** How much work each measurement does. */
    public enum Size {
        /** For tests: seconds in all, figures meaningless. */
        TINY(1, 1, 5, 2, 50, 1, 20, 5, 30),
        /** Under 3 minutes. */
        QUICK(48, 3, 500, 40, 3_000, 32, 2_000, 500, 40),
        /** The figures for docs/performance.md. */
        FULL(256, 5, 3_000, 200, 20_000, 128, 10_000, 10_000, 600);

        final long bulkBytes;
        final int bulkReps;
        final int connects;
        final int tlsConnects;
        final int roundTrips;
        final long tunnelBytes;
        final int idlePlain;
        final int idleSecured;
        final long budgetNanos;

        Size(int bulkMib, int bulkReps, int connects, int tlsConnects, int roundTrips, int tunnelMib, int idlePlain,
             int idleSecured, int budgetSeconds) {
            this.bulkBytes = bulkMib * 1024L * 1024L;
            this.bulkReps = bulkReps;
            this.connects = connects;
            this.tlsConnects = tlsConnects;
            this.roundTrips = roundTrips;
            this.tunnelBytes = tunnelMib * 1024L * 1024L;
            this.idlePlain = idlePlain;
            this.idleSecured = idleSecured;
            this.budgetNanos = TimeUnit.SECONDS.toNanos(budgetSeconds);
        }
    }

    /** Groups of rows that can be run alone ({@code --only}). */
    public static final Set<String> GROUPS = Set.of("bulk", "tls", "connect", "rtt", "tunnel", "memory");

    private final Size size;
    private final Set<String> only;
    private final PrintWriter progress;
    private final Table table = new Table();

    public Bench(Size size, Set<String> only, PrintWriter progress) {
        this.size = size;
        this.only = only;
        this.progress = progress;
    }

    private boolean wants(String group) {
        return only.isEmpty() || only.contains(group);
    }

    /** Runs the selected measurements and returns the table. */
    public Table run() {
        if (wants("bulk")) {
            bulk();
        }
        if (wants("tls")) {
            tls(GCM, "AES-128-GCM 0x00A6");
            tls(CBC, "AES-128-CBC-SHA 0x0034");
        }
        if (wants("connect")) {
            connect();
        }
        if (wants("rtt")) {
            roundTrip();
        }
        if (wants("tunnel")) {
            tunnel();
        }
        if (wants("memory")) {
            memory();
        }
        return table;
    }

    private void bulk() {
        Bulk.Result[] r = compare("bulk: kernel loopback, MemoryLink MTU 65535 and 1500, interleaved",
                () -> Endpoints.kernel(Endpoints.PLAIN),
                () -> Endpoints.stacks(65535, Endpoints.PLAIN, Impairments.NONE),
                () -> Endpoints.stacks(1500, Endpoints.PLAIN, Impairments.NONE));
        Bulk.Result kernel = r[0];
        Bulk.Result big = r[1];
        Bulk.Result small = r[2];
        table.add(new Row("bulk plain, MemoryLink MTU 65535 vs kernel", big.mibPerSecond(), kernel.mibPerSecond(), "MiB/s", Row.Target.ratioAtLeast(1.0)));
        table.add(new Row("bulk plain, MemoryLink MTU 1500 vs kernel", small.mibPerSecond(), kernel.mibPerSecond(), "MiB/s", Row.Target.ratioAtLeast(0.5)));
        table.add(new Row("CPU per GiB, plain MTU 65535 vs kernel", big.cpuSecondsPerGib(), kernel.cpuSecondsPerGib(), "cpu-s/GiB", null));
        table.add(new Row("CPU per GiB, plain MTU 1500 vs kernel", small.cpuSecondsPerGib(), kernel.cpuSecondsPerGib(), "cpu-s/GiB", null));
    }

    private void tls(int suite, String name) {
        Bulk.Result[] r = compare("bulk: BC TLS " + name + " over kernel and OPSEC/TLS at MTU 65535, interleaved",
                () -> Endpoints.kernel(suite), () -> Endpoints.stacks(65535, suite, Impairments.NONE));
        Bulk.Result bc = r[0];
        Bulk.Result ours = r[1];
        table.add(new Row("bulk OPSEC/TLS " + name + " vs BC TLS", ours.mibPerSecond(), bc.mibPerSecond(), "MiB/s", Row.Target.ratioAtLeast(1.0)));
        table.add(new Row("CPU per GiB, TLS " + name.substring(0, name.indexOf(' ')) + " vs BC TLS", ours.cpuSecondsPerGib(), bc.cpuSecondsPerGib(), "cpu-s/GiB", null));
    }

    interface FactorySupplier {
        Endpoints.Factory open() throws IOException;
    }

    /** Bulk transfers on several transports at once, interleaved (see {@link Bulk#compare}). */
    private Bulk.Result[] compare(String what, FactorySupplier... suppliers) {
        Bulk.Result[] failed = new Bulk.Result[suppliers.length];
        java.util.Arrays.fill(failed, Bulk.Result.FAILED);
        return measure(what, () -> {
            List<Endpoints.Factory> open = new ArrayList<>();
            try {
                for (FactorySupplier s : suppliers) {
                    open.add(s.open());
                }
                return Bulk.compare(open, size.bulkBytes, size.bulkReps, deadline(), progress);
            } finally {
                for (Endpoints.Factory f : open) {
                    f.close();
                }
            }
        }, failed);
    }

    private void connect() {
        double[] tcp = connectRates("connect: kernel and opsec-stack, alternating blocks",
                () -> ConnectRate.kernel(Endpoints.PLAIN), () -> ConnectRate.stacks(Endpoints.PLAIN), size.connects);
        table.add(new Row("connection rate, TCP vs kernel", tcp[1], tcp[0], "conn/s", Row.Target.ratioAtLeast(2.0)));
        double[] tls = connectRates("connect: BC TLS over kernel and opsec-stack + OPSEC + TLS, alternating blocks",
                () -> ConnectRate.kernel(GCM), () -> ConnectRate.stacks(GCM), size.tlsConnects);
        table.add(new Row("connection rate, TCP+OPSEC+TLS vs BC TLS", tls[1], tls[0], "conn/s", Row.Target.ratioAtLeast(1.0)));
    }

    interface RunnerSupplier {
        ConnectRate.Runner open() throws IOException;
    }

    private double[] connectRates(String what, RunnerSupplier baseline, RunnerSupplier ours, int count) {
        return measure(what, () -> {
            try (ConnectRate.Runner a = baseline.open(); ConnectRate.Runner b = ours.open()) {
                return ConnectRate.compare(a, b, count, deadline());
            }
        }, new double[] {Double.NaN, Double.NaN});
    }

    private void roundTrip() {
        RoundTrip.Result kernel = measure("rtt: kernel", () -> rttOf(Endpoints.kernel(Endpoints.PLAIN)), RoundTrip.Result.FAILED);
        RoundTrip.Result ours = measure("rtt: opsec-stack", () -> rttOf(Endpoints.stacks(1500, Endpoints.PLAIN, Impairments.NONE)), RoundTrip.Result.FAILED);
        table.add(new Row("1-byte round trip p50 vs kernel", ours.p50Micros(), kernel.p50Micros(), "us", Row.Target.ratioAtMost(0.5)));
        table.add(new Row("1-byte round trip p99 vs kernel", ours.p99Micros(), kernel.p99Micros(), "us", null));
    }

    private RoundTrip.Result rttOf(Endpoints.Factory factory) throws IOException {
        try (factory) {
            return RoundTrip.run(factory, size.roundTrips, deadline());
        }
    }

    private void tunnel() {
        double kernel = measure("tunnel: kernel TCP, 2 processes", () -> Tunnel.kernel(size.tunnelBytes, size.bulkReps, deadline()), Double.NaN);
        double ours = measure("tunnel: UDP tunnel MTU 1500, 2 processes", () -> Tunnel.tunnel(1500, size.tunnelBytes, size.bulkReps, deadline()), Double.NaN);
        table.add(new Row("UDP tunnel MTU 1500, 2 processes vs kernel", ours, kernel, "MiB/s", null));
    }

    private void memory() {
        IdleMemory.Result plain = measure("memory: " + size.idlePlain + " idle plain connections",
                () -> IdleMemory.run(Endpoints.PLAIN, size.idlePlain, deadline()), null);
        IdleMemory.Result sec = measure("memory: " + size.idleSecured + " idle secured connections",
                () -> IdleMemory.run(GCM, size.idleSecured, deadline()), null);
        double kib = 1024.0;
        table.add(new Row("memory per idle plain connection (" + count(plain) + ")", plain == null ? Double.NaN : plain.bytesPerEnd() / kib,
                Double.NaN, "KiB", Row.Target.oursAtMost(16, "KiB")));
        table.add(new Row("memory per idle secured connection (" + count(sec) + ")", sec == null ? Double.NaN : sec.bytesPerEnd() / kib,
                Double.NaN, "KiB", Row.Target.oursAtMost(64, "KiB")));
        table.add(new Row("idle plain connections in a 1 GiB heap", plain == null ? Double.NaN : plain.perGib(), Double.NaN, "conns", null));
        table.add(new Row("idle secured connections in a 1 GiB heap", sec == null ? Double.NaN : sec.perGib(), Double.NaN, "conns", null));
    }

    private static String count(IdleMemory.Result r) {
        return r == null ? "failed" : "n=" + r.connections();
    }

    private long deadline() {
        return System.nanoTime() + size.budgetNanos;
    }

    interface Measurement<T> {
        T get() throws Exception;
    }

    private <T> T measure(String what, Measurement<T> m, T failed) {
        long t0 = System.nanoTime();
        progress.print("# " + what + " ... ");
        progress.flush();
        try {
            T r = m.get();
            progress.printf("%.1f s%n", (System.nanoTime() - t0) / 1e9);
            return r;
        } catch (Exception e) {
            progress.printf("FAILED after %.1f s: %s%n", (System.nanoTime() - t0) / 1e9, e.getMessage());
            return failed;
        } finally {
            progress.flush();
        }
    }
}
