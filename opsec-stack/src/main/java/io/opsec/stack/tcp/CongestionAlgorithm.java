package io.opsec.stack.tcp;

/** The congestion controls a connection can run (chosen in {@link TcpConfig}). */
public enum CongestionAlgorithm {
    /** RFC 5681 with RFC 6582 NewReno recovery (or RFC 6675 when SACK is in use). The default. */
    NEWRENO,
    /** RFC 9438 CUBIC. */
    CUBIC;

    CongestionControl create(int smss, long initialWindow) {
        return switch (this) {
            case NEWRENO -> new NewReno(smss, initialWindow);
            case CUBIC -> new Cubic(smss, initialWindow);
        };
    }
}
