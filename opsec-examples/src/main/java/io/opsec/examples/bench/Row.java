package io.opsec.examples.bench;

/**
 * One line of the benchmark table: our figure, the baseline's, their ratio, and the target the
 * ratio (or the figure) is held to.
 *
 * @param name     what was measured
 * @param ours     opsec-stack's figure (NaN when not measured)
 * @param baseline the baseline's figure (NaN when the row has none)
 * @param unit     unit of both figures
 * @param target   the target, or {@code null} for an informational row
 */
public record Row(String name, double ours, double baseline, String unit, Target target) {

    /** A target on the ratio ours/baseline or on our figure alone. */
    public record Target(String text, java.util.function.DoublePredicate onRatio,
                         java.util.function.DoublePredicate onOurs) {
        /** ratio >= min. */
        public static Target ratioAtLeast(double min) {
            return new Target(String.format("ratio >= %.1fx", min), r -> r >= min, null);
        }

        /** ratio <= max. */
        public static Target ratioAtMost(double max) {
            return new Target(String.format("ratio <= %.1fx", max), r -> r <= max, null);
        }

        /** our figure <= max. */
        public static Target oursAtMost(double max, String unit) {
            return new Target(String.format("<= %.0f %s", max, unit), null, v -> v <= max);
        }
    }

    /** ours / baseline, or NaN. */
    public double ratio() {
        return baseline > 0 ? ours / baseline : Double.NaN;
    }

    /** Whether the target was met; {@code null} for an informational row. */
    public Boolean met() {
        if (target == null) {
            return null;
        }
        if (Double.isNaN(ours)) {
            return false;
        }
        if (target.onRatio() != null) {
            double r = ratio();
            return !Double.isNaN(r) && target.onRatio().test(r);
        }
        return target.onOurs().test(ours);
    }
}
