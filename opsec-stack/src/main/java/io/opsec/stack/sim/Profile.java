package io.opsec.stack.sim;

import io.opsec.stack.link.Impairments;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The path conditions a simulation runs under. Every profile shares the same bandwidth, latency
 * and queue, so goodput figures compare the effect of the faults alone.
 *
 * <p>The impairments apply once per packet, on the hop from the simulator's switch to the
 * receiving host: a packet meets the profile's loss once, whatever the number of hosts.
 */
public enum Profile {
    /** No faults: the reference for goodput. */
    CLEAN("clean", 0, 0, 0, 0),
    /** 1% loss. */
    LOSSY("lossy", 0.01, 0, 0, 0),
    /** 10% loss, 5% reordering (up to 20 ms extra), 1% duplication, 0.1% one-bit corruption. */
    HOSTILE("hostile", 0.10, 0.05, 0.01, 0.001),
    /** 30% loss. */
    LOSS30("loss30", 0.30, 0, 0, 0),
    /**
     * Delay jitter: every packet is held an extra 0 to 20 ms (uniform), so back-to-back segments
     * arrive in random order, as under {@code netem delay 50ms 10ms} (the kernel lab's delay50).
     * No loss: every retransmission on this path is spurious.
     */
    JITTER("jitter", 0, 1.0, 0, 0),
    /** 1% duplication and nothing else (the kernel lab's dup1): every retransmission is spurious. */
    DUPLICATE("dup1", 0, 0, 0.01, 0);

    /** The profiles the seed sweeps cycle through ({@link #forSeed}): seed s runs {@code SWEEP[s mod 4]}. */
    static final Profile[] SWEEP = {CLEAN, LOSSY, HOSTILE, LOSS30};

    /** One-way propagation delay of every profile. */
    public static final Duration LATENCY = Duration.ofMillis(10);
    /** Bandwidth of every profile, bits per second. */
    public static final long BANDWIDTH = 20_000_000L;
    /** Bytes that may wait for the wire before tail drop. */
    public static final int QUEUE_LIMIT = 128 * 1024;
    /** The largest extra delay of a reordered packet. */
    public static final Duration REORDER_DELAY = Duration.ofMillis(20);

    private final String cliName;
    private final double loss;
    private final double reorder;
    private final double duplicate;
    private final double corrupt;

    Profile(String cliName, double loss, double reorder, double duplicate, double corrupt) {
        this.cliName = cliName;
        this.loss = loss;
        this.reorder = reorder;
        this.duplicate = duplicate;
        this.corrupt = corrupt;
    }

    /** The name used on the command line and in replay commands. */
    public String cliName() {
        return cliName;
    }

    /** The impairments of one hop. */
    public Impairments impairments() {
        return impairments(BANDWIDTH, LATENCY);
    }

    /** The impairments of one hop on a path of another bandwidth and one-way latency. */
    public Impairments impairments(long bitsPerSecond, Duration latency) {
        Impairments.Builder b = Impairments.builder()
                .latency(latency)
                .bandwidth(bitsPerSecond)
                .queueLimit(QUEUE_LIMIT)
                .loss(loss)
                .duplicate(duplicate)
                .corrupt(corrupt);
        if (reorder > 0) {
            b.reorder(reorder, REORDER_DELAY);
        }
        return b.build();
    }

    /** The profile spread used when none is given: seeds cycle through the four of {@link #SWEEP}. */
    public static Profile forSeed(long seed) {
        return SWEEP[(int) Math.floorMod(seed, (long) SWEEP.length)];
    }

    /** The profile named {@code name} (case-insensitive), or an exception naming the choices. */
    public static Profile parse(String name) {
        for (Profile p : values()) {
            if (p.cliName.equalsIgnoreCase(name.trim()) || p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown profile '" + name + "' (choose from " + names() + ")");
    }

    /** "clean|lossy|hostile|loss30|jitter|dup1". */
    public static String names() {
        return Arrays.stream(values()).map(Profile::cliName).collect(Collectors.joining("|"));
    }

    @Override
    public String toString() {
        return cliName.toLowerCase(Locale.ROOT);
    }
}
