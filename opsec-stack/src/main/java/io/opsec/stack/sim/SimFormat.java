package io.opsec.stack.sim;

import java.util.Locale;

/** Formatting of virtual times and rates for reports. */
final class SimFormat {
    private SimFormat() {}

    /** Virtual nanoseconds as seconds with millisecond precision: "12.345 s". */
    static String time(long nanos) {
        return String.format(Locale.ROOT, "%.3f s", nanos / 1e9);
    }

    /** Bits per second as "12.3 Mbit/s". */
    static String rate(double bitsPerSecond) {
        return String.format(Locale.ROOT, "%.2f Mbit/s", bitsPerSecond / 1e6);
    }
}
