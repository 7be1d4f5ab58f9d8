package io.opsec.examples.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The rows of one benchmark run, printed as a fixed-width table ending in "targets met: X of Y". */
public final class Table {
    private final List<Row> rows = new ArrayList<>();

    public synchronized void add(Row row) {
        rows.add(row);
    }

    public synchronized List<Row> rows() {
        return List.copyOf(rows);
    }

    /** Rows with a target, and how many of them met it. */
    public synchronized int[] score() {
        int met = 0;
        int of = 0;
        for (Row r : rows) {
            if (r.met() != null) {
                of++;
                if (r.met()) {
                    met++;
                }
            }
        }
        return new int[] {met, of};
    }

    public static final String HEADER = String.format(Locale.ROOT, "%-44s %12s %12s %-9s %8s  %-16s %s",
            "measurement", "opsec-stack", "baseline", "unit", "ratio", "target", "result");

    /** One row as printed. */
    public static String format(Row r) {
        Boolean met = r.met();
        return String.format(Locale.ROOT, "%-44s %12s %12s %-9s %8s  %-16s %s", r.name(), figure(r.ours()),
                figure(r.baseline()), r.unit(), Double.isNaN(r.ratio()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.ratio()),
                r.target() == null ? "-" : r.target().text(), met == null ? "info" : met ? "met" : "MISSED");
    }

    static String figure(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        double a = Math.abs(v);
        if (a >= 1000) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (a >= 100) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        if (a >= 10) {
            return String.format(Locale.ROOT, "%.2f", v);
        }
        return String.format(Locale.ROOT, "%.3f", v);
    }

    /** Prints the whole table and the closing line. */
    public synchronized void print(PrintWriter out) {
        out.println(HEADER);
        for (Row r : rows) {
            out.println(format(r));
        }
        int[] s = score();
        out.println("targets met: " + s[0] + " of " + s[1]);
        out.flush();
    }
}
