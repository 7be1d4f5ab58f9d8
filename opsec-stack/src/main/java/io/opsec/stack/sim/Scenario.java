package io.opsec.stack.sim;

/** What the applications of a simulated run do. */
public enum Scenario {
    /** One connection; the client sends the bytes, then both close. */
    BULK_UP("bulk-up"),
    /** One connection; the server sends the bytes, then both close. */
    BULK_DOWN("bulk-down"),
    /** One connection; both send the bytes at once. */
    BULK_BOTH("bulk-both"),
    /** Many connections at once (see {@link Sim#connections(int)}), between every pair of neighbouring hosts. */
    MANY("many"),
    /** Two hosts connect to each other's ports at the same instant (RFC 9293 §3.5, figure 8). */
    SIMULTANEOUS_OPEN("simultaneous-open"),
    /** Both ends shut their output at the same instant after the exchange (RFC 9293 §3.6, figure 13). */
    SIMULTANEOUS_CLOSE("simultaneous-close"),
    /** The client aborts with a RST once half of its upload has arrived. */
    ABORT("abort"),
    /** The path is cut for good mid-transfer: both ends must report a timeout within a bound. */
    LINK_CUT("link-cut"),
    /** The path is cut mid-transfer for 5 s, then heals: the transfer must complete byte-exact. */
    LINK_FLAP("link-flap"),
    /**
     * Strict half-close, ours first (the kernel lab's {@code ourHalfClose_kernelKeepsSending}): the
     * client sends and shuts its output; the server sends only after the client's end of stream.
     * Outside the seed sweep.
     */
    HALF_CLOSE("half-close");

    /** The scenarios the seed sweep cycles through ({@link #forSeed}). */
    static final Scenario[] SWEEP = {BULK_UP, BULK_DOWN, BULK_BOTH, MANY, SIMULTANEOUS_OPEN, SIMULTANEOUS_CLOSE,
        ABORT, LINK_CUT, LINK_FLAP};

    private final String cliName;

    Scenario(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /**
     * The scenario a seed runs when none is chosen: seeds cycle through every scenario of {@link #SWEEP}, in
     * an order independent of {@link Profile#forSeed}, so a run of many seeds covers every pair.
     */
    public static Scenario forSeed(long seed) {
        return SWEEP[(int) Math.floorMod(seed / Profile.SWEEP.length, (long) SWEEP.length)];
    }

    /** The scenario named {@code name}, or an exception naming the choices. */
    public static Scenario parse(String name) {
        for (Scenario s : values()) {
            if (s.cliName.equalsIgnoreCase(name.trim()) || s.name().equalsIgnoreCase(name.trim())) {
                return s;
            }
        }
        StringBuilder names = new StringBuilder();
        for (Scenario s : values()) {
            names.append(names.length() == 0 ? "" : "|").append(s.cliName);
        }
        throw new IllegalArgumentException("unknown scenario '" + name + "' (choose from " + names + ")");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
