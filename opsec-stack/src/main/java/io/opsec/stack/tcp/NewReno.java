package io.opsec.stack.tcp;

/**
 * RFC 5681 slow start and congestion avoidance with byte counting; recovery itself (RFC 6582 /
 * RFC 6675) is driven by the connection, which sets the window on entry and exit.
 */
final class NewReno implements CongestionControl {
    private int smss;
    private final long initialWindow;
    long cwnd;
    long ssthresh = Long.MAX_VALUE / 4; // RFC 5681 §3.1: "arbitrarily high"
    private long bytesAcked;

    NewReno(int smss, long initialWindow) {
        this.smss = smss;
        this.initialWindow = initialWindow;
        this.cwnd = initialWindow;
    }

    @Override public long cwnd() { return cwnd; }
    @Override public long ssthresh() { return ssthresh; }
    @Override public String name() { return "newreno"; }

    @Override
    public void setSmss(int smss) {
        this.smss = smss;
    }

    @Override
    public void onAck(long ackedBytes, long now, long srttNanos) {
        if (cwnd < ssthresh) {
            // RFC 5681 §3.1 eq. 2 with RFC 3465 appropriate byte counting. DEVIATION: no limit L
            // (RFC 3465 §2.2 suggests 2 SMSS): like Linux (tcp_slow_start), every byte an ACK newly
            // acknowledges counts, up to ssthresh. When ACKs are thinned (reordered ones dropped by
            // PAWS, stretch ACKs) the limit stretched slow start over several times more round trips.
            long grown = Math.min(ackedBytes, ssthresh - cwnd);
            cwnd += grown;
            ackedBytes -= grown;
            if (ackedBytes == 0) {
                return;
            }
        }
        // RFC 5681 §3.1 eq. 3 by byte counting: one SMSS per window acknowledged.
        bytesAcked += ackedBytes;
        if (bytesAcked >= cwnd) {
            bytesAcked -= cwnd;
            cwnd += smss;
        }
    }

    @Override
    public void onCongestionEvent(long flightSize, long now) {
        ssthresh = Math.max(flightSize / 2, 2L * smss); // RFC 5681 §3.1 eq. 4
        cwnd = ssthresh; // RFC 6675 §5 step 4.2; the pipe estimate replaces RFC 5681's inflation
        bytesAcked = 0;
    }

    @Override
    public void onRecoveryExit(long flightSize, long now) {
        // RFC 6582 §3.2 step 3, option 1: min(ssthresh, max(FlightSize, SMSS) + SMSS).
        cwnd = Math.min(ssthresh, Math.max(flightSize, smss) + smss);
    }

    @Override
    public void onRetransmitTimeout(long flightSize, long now) {
        ssthresh = Math.max(flightSize / 2, 2L * smss); // RFC 5681 §3.1 eq. 4
        cwnd = smss; // loss window
        bytesAcked = 0;
    }

    @Override
    public void undo(long priorCwnd, long priorSsthresh) {
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = Math.max(ssthresh, priorSsthresh);
        bytesAcked = 0;
    }

    @Override
    public void onIdleRestart(long now) {
        cwnd = Math.min(cwnd, initialWindow); // RFC 5681 §4.1, RW = min(IW, cwnd)
    }
}
