package io.opsec.examples.bench;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/** Medians, percentiles and the process's CPU clock. */
final class Stats {
    private Stats() {}

    static double median(double[] xs) {
        return percentile(xs, 50);
    }

    /** Nearest-rank percentile of a copy of {@code xs}. */
    static double percentile(double[] xs, double p) {
        if (xs.length == 0) {
            return Double.NaN;
        }
        double[] s = xs.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    static double percentile(long[] xs, int n, double p) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = xs[i];
        }
        return percentile(d, p);
    }

    /** CPU time of the whole process (every thread, user and system), in nanoseconds. */
    static long processCpuNanos() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
