package io.opsec.stack.tcp;

/**
 * RFC 6298 round-trip estimation: SRTT, RTTVAR and the RTO with exponential backoff, bounded
 * by the configured minimum and maximum. Samples come from timestamps (RFC 7323 §4, RTTM) or
 * from one timed segment at a time, never a retransmitted one (Karn, RFC 6298 §3).
 */
final class RttEstimator {
    private static final long CLOCK_G = 1_000_000L; // clock granularity: 1 ms (RFC 6298 §2 "G")
    private final long minRto;
    private final long maxRto;
    private boolean sampled;
    private long srtt;
    private long rttvar;
    private long rto;     // current RTO before backoff
    private int backoff;  // RFC 6298 §5.5 doublings since the last sample

    RttEstimator(long initialRto, long minRto, long maxRto) {
        this.minRto = minRto;
        this.maxRto = maxRto;
        this.rto = initialRto;
    }

    /** Takes one measurement, in nanoseconds. */
    void sample(long rtt) {
        if (rtt < 0) {
            return;
        }
        if (!sampled) {
            // RFC 6298 §2.2
            sampled = true;
            srtt = rtt;
            rttvar = rtt / 2;
        } else {
            // RFC 6298 §2.3, alpha = 1/8, beta = 1/4
            rttvar = (3 * rttvar + Math.abs(srtt - rtt)) / 4;
            srtt = (7 * srtt + rtt) / 8;
        }
        // DEVIATION: RFC 6298 §2.3 gives RTO = SRTT + max(G, 4*RTTVAR), then §2.4 the floor. Like
        // Linux (tcp_set_rto), the floor applies to the variance term instead, so the RTO stays
        // above SRTT plus a peer's whole delayed-ACK time and a steady path sees no spurious RTO.
        rto = clamp(srtt + Math.max(Math.max(CLOCK_G, 4 * rttvar), minRto));
        backoff = 0; // RFC 6298 §5.7: a new sample ends the backoff
    }

    /** RFC 6298 §5.5: the timer expired; double the RTO (bounded by the maximum). */
    void backoff() {
        if (backoff < 30) {
            backoff++;
        }
    }

    /** Resets the backoff without a sample (for instance after a new SYN exchange). */
    void resetBackoff() {
        backoff = 0;
    }

    /** The RTO to arm the timer with now, including backoff. */
    long rto() {
        long v = rto;
        for (int i = 0; i < backoff && v < maxRto; i++) {
            v *= 2;
        }
        return clamp(v);
    }

    int backoffCount() {
        return backoff;
    }

    boolean hasSample() {
        return sampled;
    }

    /** Smoothed RTT in nanoseconds, 0 before the first sample. */
    long srtt() {
        return srtt;
    }

    long rttvar() {
        return rttvar;
    }

    private long clamp(long v) {
        return Math.min(maxRto, Math.max(minRto, v)); // RFC 6298 §2.4, §2.5
    }
}
