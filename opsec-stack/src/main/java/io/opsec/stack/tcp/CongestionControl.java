package io.opsec.stack.tcp;

/**
 * A sender's congestion window rules (RFC 5681 and successors), in bytes. The connection owns
 * loss detection and recovery (RFC 6675 / RFC 6582); the algorithm only answers how big the
 * window is and reacts to the events the connection reports. Pure: time is an argument.
 */
interface CongestionControl {

    /** The congestion window, bytes. */
    long cwnd();

    /** The slow-start threshold, bytes. */
    long ssthresh();

    /** New data was cumulatively acknowledged outside loss recovery. */
    void onAck(long ackedBytes, long now, long srttNanos);

    /** Loss detected by duplicate ACKs or SACK: the start of fast recovery (RFC 5681 §3.2 step 2, RFC 6675 §5). */
    void onCongestionEvent(long flightSize, long now);

    /** Fast recovery ended with a full acknowledgment (RFC 6582 §3.2 step 3). */
    void onRecoveryExit(long flightSize, long now);

    /** The retransmission timer expired (RFC 5681 §3.1 eq. 4 and the loss window). */
    void onRetransmitTimeout(long flightSize, long now);

    /**
     * The last congestion event was spurious (RFC 3708 / RFC 3522 detection): restore the window
     * and threshold from before it (RFC 4015 §3, as Linux's undo: never below what they are now).
     */
    void undo(long priorCwnd, long priorSsthresh);

    /** The connection was idle longer than an RTO (RFC 5681 §4.1): back to the restart window. */
    void onIdleRestart(long now);

    /** The SMSS changed (MSS negotiated). */
    void setSmss(int smss);

    /** Name for traces ("newreno", "cubic"). */
    String name();
}
