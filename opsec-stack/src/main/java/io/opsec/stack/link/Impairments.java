package io.opsec.stack.link;

import java.time.Duration;

/**
 * What one direction of a {@link MemoryLink} does to the packets crossing it. Immutable; every
 * random choice comes from the link's seed, so a run replays exactly.
 *
 * <p>The order a packet meets them in is fixed: the MTU check, the {@link Middlebox}, the
 * bandwidth queue (serialisation behind earlier packets, tail drop at {@link #queueLimitBytes}),
 * loss, corruption, then delivery after {@link #latencyNanos} plus, for a reordered packet, a
 * random extra delay; a duplicated packet is an independent copy with its own reordering draw.
 *
 * @param loss              probability in [0, 1] that a packet is lost
 * @param duplicate         probability in [0, 1] that a packet is delivered twice
 * @param reorder           probability in [0, 1] that a packet is held back by a random extra
 *                          delay, uniform in [0, {@code reorderDelayNanos}], so later packets may
 *                          overtake it
 * @param reorderDelayNanos the largest extra delay of a reordered packet
 * @param corrupt           probability in [0, 1] that a packet has bits flipped
 * @param corruptBits       how many distinct random bits a corrupted packet has flipped; one bit
 *                          (the default) is always caught by the Internet checksum, more may
 *                          not be, as on real paths
 * @param latencyNanos      fixed one-way propagation delay
 * @param bitsPerSecond     bandwidth for the serialisation delay, or 0 for infinite
 * @param queueLimitBytes   with a bandwidth, the most bytes that may be waiting for the wire
 *                          (not yet serialised, the arriving packet included); a packet that
 *                          would exceed it is tail-dropped; 0 for an unbounded queue
 */
public record Impairments(double loss, double duplicate, double reorder, long reorderDelayNanos,
                          double corrupt, int corruptBits, long latencyNanos, long bitsPerSecond,
                          int queueLimitBytes) {

    /** A perfect wire: nothing lost, no delay, infinite bandwidth. */
    public static final Impairments NONE = new Impairments(0, 0, 0, 0, 0, 1, 0, 0, 0);

    public Impairments {
        probability("loss", loss);
        probability("duplicate", duplicate);
        probability("reorder", reorder);
        probability("corrupt", corrupt);
        nonNegative("reorder delay", reorderDelayNanos);
        nonNegative("latency", latencyNanos);
        nonNegative("bandwidth", bitsPerSecond);
        nonNegative("queue limit", queueLimitBytes);
        if (corruptBits < 1) {
            throw new IllegalArgumentException("corruptBits must be at least 1, not " + corruptBits);
        }
        if (reorder > 0 && reorderDelayNanos == 0) {
            throw new IllegalArgumentException("reordering needs a positive maximum extra delay");
        }
    }

    private static void probability(String what, double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException(what + " probability " + p + " is not in [0, 1]");
        }
    }

    private static void nonNegative(String what, long v) {
        if (v < 0) {
            throw new IllegalArgumentException(what + " " + v + " is negative");
        }
    }

    /** A builder starting from {@link #NONE}. */
    public static Builder builder() {
        return new Builder(NONE);
    }

    /** A builder starting from these values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Nanoseconds to serialise {@code bytes} at the bandwidth (0 when it is infinite). */
    long serialisationNanos(int bytes) {
        if (bitsPerSecond == 0) {
            return 0;
        }
        long bits = 8L * bytes;
        // ceil(bits * 1e9 / bps) without overflow for packets up to 64 KiB.
        return (bits * 1_000_000_000L + bitsPerSecond - 1) / bitsPerSecond;
    }

    /** Builds {@link Impairments}; each setter replaces one value. */
    public static final class Builder {
        private double loss;
        private double duplicate;
        private double reorder;
        private long reorderDelayNanos;
        private double corrupt;
        private int corruptBits;
        private long latencyNanos;
        private long bitsPerSecond;
        private int queueLimitBytes;

        private Builder(Impairments from) {
            loss = from.loss;
            duplicate = from.duplicate;
            reorder = from.reorder;
            reorderDelayNanos = from.reorderDelayNanos;
            corrupt = from.corrupt;
            corruptBits = from.corruptBits;
            latencyNanos = from.latencyNanos;
            bitsPerSecond = from.bitsPerSecond;
            queueLimitBytes = from.queueLimitBytes;
        }

        /** Probability that a packet is lost. */
        public Builder loss(double probability) {
            loss = probability;
            return this;
        }

        /** Probability that a packet arrives twice. */
        public Builder duplicate(double probability) {
            duplicate = probability;
            return this;
        }

        /** Probability that a packet is held back by up to {@code maxExtraDelay}, uniformly. */
        public Builder reorder(double probability, Duration maxExtraDelay) {
            reorder = probability;
            reorderDelayNanos = maxExtraDelay.toNanos();
            return this;
        }

        /** Probability that a packet has one random bit flipped. */
        public Builder corrupt(double probability) {
            return corrupt(probability, 1);
        }

        /** Probability that a packet has {@code bits} distinct random bits flipped. */
        public Builder corrupt(double probability, int bits) {
            corrupt = probability;
            corruptBits = bits;
            return this;
        }

        /** Fixed one-way delay. */
        public Builder latency(Duration latency) {
            latencyNanos = latency.toNanos();
            return this;
        }

        /** Bandwidth in bits per second (0: infinite); packets queue behind earlier ones. */
        public Builder bandwidth(long bitsPerSecond) {
            this.bitsPerSecond = bitsPerSecond;
            return this;
        }

        /** With a bandwidth, the bytes that may wait unserialised, the new packet included (0: unbounded). */
        public Builder queueLimit(int bytes) {
            queueLimitBytes = bytes;
            return this;
        }

        public Impairments build() {
            return new Impairments(loss, duplicate, reorder, reorderDelayNanos, corrupt, corruptBits,
                    latencyNanos, bitsPerSecond, queueLimitBytes);
        }
    }
}
