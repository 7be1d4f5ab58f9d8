package io.opsec.stack.tcp;

/**
 * RFC 9438 CUBIC: the window follows {@code W(t) = C (t - K)^3 + Wmax} after a congestion event,
 * never below the Reno-friendly estimate (§4.3). Slow start and the loss window are as NewReno.
 */
final class Cubic implements CongestionControl {
    static final double BETA = 0.7;  // RFC 9438 §4.6
    static final double C = 0.4;     // RFC 9438 §5
    static final double ALPHA = 3 * (1 - BETA) / (1 + BETA); // RFC 9438 §4.3

    private int smss;
    private final long initialWindow;
    long cwnd;
    long ssthresh = Long.MAX_VALUE / 4;
    private double wMax;          // segments
    private double wLastMax;      // segments, for fast convergence (§4.7)
    private double k;             // seconds
    private long epochStart = -1; // start of the current congestion-avoidance epoch, nanos
    private double wEst;          // Reno-friendly estimate, segments
    private double priorWMax;     // before the last reduction, for undo
    private double priorWLastMax;

    Cubic(int smss, long initialWindow) {
        this.smss = smss;
        this.initialWindow = initialWindow;
        this.cwnd = initialWindow;
    }

    @Override public long cwnd() { return cwnd; }
    @Override public long ssthresh() { return ssthresh; }
    @Override public String name() { return "cubic"; }
    @Override public void setSmss(int smss) { this.smss = smss; }

    @Override
    public void onAck(long ackedBytes, long now, long srttNanos) {
        if (cwnd < ssthresh) {
            // RFC 9438 §4.10: standard slow start (as NewReno, without RFC 3465's L: DEVIATION there).
            cwnd += Math.min(ackedBytes, Math.max(0, ssthresh - cwnd));
            return;
        }
        double segs = (double) cwnd / smss;
        if (epochStart < 0) {
            // RFC 9438 §4.2: a new epoch starts with the first ACK in congestion avoidance.
            epochStart = now;
            if (wMax < segs) {
                wMax = segs;
                k = 0;
            } else {
                k = Math.cbrt((wMax - segs) / C);
            }
            wEst = segs;
        }
        double t = (now - epochStart) / 1e9;
        double rtt = Math.max(srttNanos, 1) / 1e9;
        double target = C * Math.pow(t + rtt - k, 3) + wMax; // RFC 9438 §4.2 eq. 1 at t + RTT
        target = Math.max(segs, Math.min(target, 1.5 * segs)); // §4.4: target within [cwnd, 1.5 cwnd]
        // §4.3 Reno-friendly region: W_est grows by alpha per window acknowledged.
        wEst += ALPHA * ackedBytes / (double) cwnd;
        double next;
        if (C * Math.pow(t - k, 3) + wMax < wEst) {
            next = wEst;
        } else {
            next = segs + (target - segs) * ackedBytes / (double) cwnd;
        }
        long nextBytes = (long) (next * smss);
        if (nextBytes > cwnd) {
            cwnd = nextBytes;
        }
    }

    private void reduce() {
        double segs = (double) cwnd / smss;
        priorWMax = wMax;
        priorWLastMax = wLastMax;
        // RFC 9438 §4.7 fast convergence.
        wMax = segs < wLastMax ? segs * (1 + BETA) / 2 : segs;
        wLastMax = segs;
        ssthresh = Math.max((long) (cwnd * BETA), 2L * smss); // §4.6
        epochStart = -1;
    }

    @Override
    public void onCongestionEvent(long flightSize, long now) {
        reduce();
        cwnd = ssthresh;
    }

    @Override
    public void onRecoveryExit(long flightSize, long now) {
        cwnd = Math.max(Math.min(ssthresh, Math.max(flightSize, smss) + smss), 2L * smss);
    }

    @Override
    public void onRetransmitTimeout(long flightSize, long now) {
        reduce(); // RFC 9438 §4.8
        cwnd = smss;
    }

    @Override
    public void undo(long priorCwnd, long priorSsthresh) {
        // RFC 9438 §4.9: a spurious congestion event restores the state from before it.
        cwnd = Math.max(cwnd, priorCwnd);
        ssthresh = Math.max(ssthresh, priorSsthresh);
        wMax = priorWMax;
        wLastMax = priorWLastMax;
        epochStart = -1;
    }

    @Override
    public void onIdleRestart(long now) {
        cwnd = Math.min(cwnd, initialWindow);
        epochStart = -1;
    }
}
