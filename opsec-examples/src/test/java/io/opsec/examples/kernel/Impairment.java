package io.opsec.examples.kernel;

import java.util.List;
import java.util.Locale;

/**
 * A netem-style impairment profile: loss, delay with jitter, reordering, duplication and
 * corruption, each a probability per packet (or milliseconds).
 *
 * <p>The semantics follow {@code tc qdisc ... netem} as documented in tc-netem(8): a packet is
 * lost with {@code loss}; otherwise it is duplicated with {@code duplicate}, has one random bit
 * flipped with {@code corrupt}, and is delayed by {@code delayMs} plus a uniform jitter in
 * {@code [-jitterMs, +jitterMs]}, except that with probability {@code reorder} it is sent at once
 * (which is how netem reorders: the undelayed packet overtakes the delayed ones). Jitter alone
 * also reorders, as in netem's time-sorted queue. Like netem's default {@code limit 1000}, at
 * most {@link #QUEUE_LIMIT} packets wait in the delay line; more are tail-dropped.
 *
 * @param name      a short label for reports ("loss1", "delay50")
 * @param loss      probability 0..1 that a packet is dropped
 * @param delayMs   base one-way delay in milliseconds
 * @param jitterMs  uniform jitter around the delay, in milliseconds
 * @param reorder   probability 0..1 that a packet skips the delay (needs {@code delayMs > 0})
 * @param duplicate probability 0..1 that a packet is sent twice
 * @param corrupt   probability 0..1 that one random bit of the packet is flipped
 */
public record Impairment(String name, double loss, int delayMs, int jitterMs, double reorder, double duplicate,
                         double corrupt) {

    /** netem's default queue limit, in packets. */
    public static final int QUEUE_LIMIT = 1000;

    public static final Impairment CLEAN = new Impairment("clean", 0, 0, 0, 0, 0, 0);
    public static final Impairment LOSS_1 = new Impairment("loss1", 0.01, 0, 0, 0, 0, 0);
    public static final Impairment LOSS_5 = new Impairment("loss5", 0.05, 0, 0, 0, 0, 0);
    public static final Impairment DELAY_50 = new Impairment("delay50", 0, 50, 10, 0, 0, 0);
    /** netem needs a delay to reorder against; 10 ms keeps the profile about reordering, not latency. */
    public static final Impairment REORDER_25 = new Impairment("reorder25", 0, 10, 0, 0.25, 0, 0);
    public static final Impairment DUP_1 = new Impairment("dup1", 0, 0, 0, 0, 0.01, 0);
    public static final Impairment CORRUPT_01 = new Impairment("corrupt0.1", 0, 0, 0, 0, 0, 0.001);
    /** All at once, the line from the issue: {@code loss 1% delay 50ms 10ms reorder 25% duplicate 1% corrupt 0.1%}. */
    public static final Impairment COMBINED = new Impairment("combined", 0.01, 50, 10, 0.25, 0.01, 0.001);

    /** The profiles issue 6 names, in the order reports list them. */
    public static final List<Impairment> ISSUE_PROFILES =
            List.of(CLEAN, LOSS_1, LOSS_5, DELAY_50, REORDER_25, DUP_1, CORRUPT_01, COMBINED);

    public Impairment {
        check("loss", loss);
        check("reorder", reorder);
        check("duplicate", duplicate);
        check("corrupt", corrupt);
        if (delayMs < 0 || jitterMs < 0 || jitterMs > delayMs) {
            throw new IllegalArgumentException("delay " + delayMs + " ms jitter " + jitterMs + " ms");
        }
        if (reorder > 0 && delayMs == 0) {
            throw new IllegalArgumentException("reordering needs a delay to overtake (as in netem)");
        }
    }

    private static void check(String what, double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(what + " probability " + p + " out of 0..1");
        }
    }

    /** Whether any impairment is configured. */
    public boolean isClean() {
        return loss == 0 && delayMs == 0 && duplicate == 0 && corrupt == 0;
    }

    /** The equivalent {@code tc ... netem} arguments, for reports (only what is set). */
    public String netemArgs() {
        StringBuilder sb = new StringBuilder();
        if (loss > 0) sb.append(" loss ").append(pct(loss));
        if (delayMs > 0) sb.append(" delay ").append(delayMs).append("ms");
        if (jitterMs > 0) sb.append(' ').append(jitterMs).append("ms");
        if (reorder > 0) sb.append(" reorder ").append(pct(reorder));
        if (duplicate > 0) sb.append(" duplicate ").append(pct(duplicate));
        if (corrupt > 0) sb.append(" corrupt ").append(pct(corrupt));
        return sb.length() == 0 ? "(none)" : sb.substring(1);
    }

    /**
     * Every parameter, zeros included, for {@code tc qdisc change ... netem}: a change that leaves
     * out reorder or corrupt keeps the old value (netem only replaces the attributes it is sent).
     */
    public String netemChangeArgs() {
        return "delay " + delayMs + "ms " + jitterMs + "ms loss " + pct(loss) + " duplicate " + pct(duplicate)
                + " reorder " + pct(reorder) + " corrupt " + pct(corrupt);
    }

    private static String pct(double p) {
        String s = String.format(Locale.ROOT, "%.3f", p * 100).replaceAll("0+$", "").replaceAll("\\.$", "");
        return s + "%";
    }

    @Override
    public String toString() {
        return name + " [" + netemArgs() + "]";
    }
}
