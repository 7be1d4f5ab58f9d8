package io.opsec.stack.tcp;

import io.opsec.stack.wire.SeqNum;

/**
 * RFC 8985 RACK: time-based loss detection for a SACK sender. A segment is lost when a segment
 * sent after it has been delivered (cumulatively ACKed or SACKed) and more than one RTT plus a
 * reordering window has passed since it was sent; the window adapts to the reordering the path
 * shows (RFC 8985 §6.2 step 4, D-SACK rounds).
 *
 * <p>Keeps the transmit log: one record per segment sent, in sequence order, with its most recent
 * transmit time and whether it was retransmitted, SACKed or marked lost (RFC 8985 §6.1 per-segment
 * variables). Pure: time is an argument. Sequence numbers only through {@link SeqNum}.
 */
final class Rack {
    static final long NONE = Long.MIN_VALUE;
    private static final byte RETRANSMITTED = 1;
    private static final byte SACKED = 2;
    private static final byte LOST = 4;
    /** RFC 8985 §6.2 step 4: rounds a raised reordering window persists after the last D-SACK. */
    static final int REO_WND_PERSIST = 16;

    private static final int[] NO_INTS = new int[0];
    private static final long[] NO_LONGS = new long[0];
    private static final byte[] NO_BYTES = new byte[0];

    // The transmit log, a ring in sequence order from SND.UNA; no arrays while it is empty, so an
    // idle connection pays nothing for it.
    private int[] start = NO_INTS;
    private int[] end = NO_INTS;
    private long[] xmit = NO_LONGS;
    private byte[] flags = NO_BYTES;
    private int head;
    private int count;

    // RFC 8985 §6.1 connection state.
    private long xmitTs = NONE;  // RACK.xmit_ts: send time of the most recently sent segment delivered
    private int endSeq;          // RACK.end_seq
    private long rtt;            // RACK.rtt: the RTT measured by that delivery
    private long minRtt = NONE;  // RACK.min_RTT
    private boolean fackValid;
    private int fack;            // RACK.fack: the highest end sequence delivered
    private boolean reorderingSeen;
    private int reoWndMult = 1;
    private int reoWndPersist;
    private long reoWndFloor;    // the reordering a spurious retransmission measured (see onSpurious)
    private long lastReoWnd;     // the window the last detectLoss() used
    private boolean dsackRoundValid;
    private int dsackRound;

    // What the last detectLoss() found.
    private int lostEnd;
    private boolean anyLost;
    private int lostRetransmission;
    private boolean lostRetransmissionValid;

    /** A new segment [s, e) went out at {@code now}. */
    void onSend(int s, int e, long now) {
        if (count > 0 && SeqNum.lt(s, end[idx(count - 1)])) {
            onRetransmit(s, e, now); // a resend of data already logged (after an RTO went back)
            return;
        }
        if (count == start.length) {
            grow();
        }
        int i = idx(count++);
        start[i] = s;
        end[i] = e;
        xmit[i] = now;
        flags[i] = 0;
    }

    /** [s, e) was sent again at {@code now}: every record it overlaps takes the new time. */
    void onRetransmit(int s, int e, long now) {
        for (int k = 0; k < count; k++) {
            int i = idx(k);
            if (SeqNum.le(end[i], s)) {
                continue;
            }
            if (SeqNum.ge(start[i], e)) {
                break;
            }
            xmit[i] = now;
            flags[i] = (byte) ((flags[i] | RETRANSMITTED) & ~LOST);
        }
    }

    /**
     * RFC 8985 §6.2 steps 1 to 3 for one ACK: every record now cumulatively acknowledged (below
     * {@code una}) or, when {@code sackChanged}, newly covered by the scoreboard is delivered;
     * acknowledged records leave the log.
     *
     * @param tsEcr the ACK's TSecr in the connection's timestamp clock, or {@link #NONE}
     * @param tsClock maps a transmit time to the TSval it carried
     */
    void onAck(int una, Scoreboard sb, boolean sackChanged, long tsEcr, java.util.function.LongUnaryOperator tsClock,
               long now) {
        while (count > 0 && SeqNum.le(end[head], una)) {
            if ((flags[head] & SACKED) == 0) {
                deliver(head, tsEcr, tsClock, now);
            }
            head = idx(1);
            count--;
        }
        if (count == 0) {
            clear();
        }
        if (sackChanged) {
            for (int k = 0; k < count; k++) {
                int i = idx(k);
                if ((flags[i] & SACKED) == 0 && sb.covers(start[i], end[i])) {
                    flags[i] |= SACKED;
                    deliver(i, tsEcr, tsClock, now);
                }
            }
        }
    }

    private void deliver(int i, long tsEcr, java.util.function.LongUnaryOperator tsClock, long now) {
        boolean rtx = (flags[i] & RETRANSMITTED) != 0;
        // Step 3: a segment delivered below the highest delivered one, never retransmitted, arrived
        // out of order.
        if (!fackValid || SeqNum.gt(end[i], fack)) {
            fack = end[i];
            fackValid = true;
        } else if (SeqNum.lt(end[i], fack) && !rtx) {
            reorderingSeen = true;
        }
        long sample = now - xmit[i];
        if (rtx) {
            // Step 2: an ACK of a retransmitted segment may be for the original; use it only when
            // the echoed timestamp shows it is for the retransmission, or the RTT is plausible.
            if (tsEcr != NONE && SeqNum.lt((int) tsEcr, (int) tsClock.applyAsLong(xmit[i]))) {
                return;
            }
            if (minRtt != NONE && sample < minRtt) {
                return;
            }
        }
        if (minRtt == NONE || sample < minRtt) {
            minRtt = sample; // step 1
        }
        if (xmitTs == NONE || sentAfter(xmit[i], end[i], xmitTs, endSeq)) {
            rtt = sample;
            xmitTs = xmit[i];
            endSeq = end[i];
        }
    }

    /** RFC 8985 §6.2: whether (t1, seq1) was sent after (t2, seq2). */
    static boolean sentAfter(long t1, int seq1, long t2, int seq2) {
        return t1 > t2 || (t1 == t2 && SeqNum.gt(seq1, seq2));
    }

    /**
     * RFC 8985 §6.2 step 4, the D-SACK part: an ACK carried a D-SACK. One raise of the window per
     * round trip (until SND.UNA passes the SND.NXT of the first D-SACK).
     */
    void onDsack(int sndNxt) {
        // DEVIATION: RFC 8985 sets reordering_seen from step 3 only. A D-SACK says a segment was
        // delivered twice, in practice a retransmission sent before the original arrived: that is
        // reordering too, so the window stops collapsing to 0 at DupThresh SACKed segments.
        reorderingSeen = true;
        if (!dsackRoundValid) {
            dsackRoundValid = true;
            dsackRound = sndNxt;
            reoWndMult++;
            reoWndPersist = REO_WND_PERSIST;
        }
    }

    /**
     * A loss episode proved spurious (by D-SACK or by timestamps): the data marked lost was not,
     * and the path reorders by at least {@code reordering} nanoseconds more than the window
     * allowed. DEVIATION: RFC 8985 §6.2 step 4 widens the window on a D-SACK only, by min_RTT / 4
     * per round trip; a timestamp proof (RFC 3522) is the same evidence a round trip earlier, and
     * the measured delay says how wide the window must be, so the window takes at least that
     * (still at most SRTT, and dropped when the D-SACK multiplier decays).
     */
    void onSpurious(int sndNxt, long reordering) {
        reoWndFloor = Math.max(reoWndFloor, lastReoWnd + Math.max(0, reordering));
        onDsack(sndNxt);
        for (int k = 0; k < count; k++) {
            flags[idx(k)] &= ~LOST;
        }
    }

    /** RFC 8985 §6.2 step 4: a fast or RTO recovery ended; the raised window decays. */
    void onRecoveryExit() {
        if (--reoWndPersist <= 0) {
            reoWndMult = 1;
            reoWndPersist = 0;
            reoWndFloor = 0;
        }
    }

    /**
     * RFC 8985 §6.2 step 4: the reordering window. Zero while no reordering has been seen and
     * either a recovery is under way or DupThresh segments are SACKed (RACK then acts as the
     * DupThresh rule); otherwise min_RTT / 4 times the D-SACK multiplier, at most SRTT.
     */
    long reoWnd(int una, boolean inRecovery, long sackedBytes, int smss, long srtt) {
        if (dsackRoundValid && SeqNum.ge(una, dsackRound)) {
            dsackRoundValid = false;
        }
        if (!reorderingSeen && (inRecovery || sackedBytes >= (long) TcpConnection.DUP_THRESH * smss)) {
            return 0;
        }
        long base = Math.max(minRtt == NONE ? 0 : minRtt / 4 * reoWndMult, reoWndFloor);
        return srtt > 0 ? Math.min(base, srtt) : base;
    }

    /**
     * RFC 8985 §6.2 step 5: marks lost every unSACKed record sent before the most recently
     * delivered one whose time (RACK.rtt + reoWnd after its transmission) is up.
     *
     * @return nanoseconds until the next record's time is up (arm the reordering timer), 0 if none
     */
    long detectLoss(long reoWnd, long now) {
        lastReoWnd = reoWnd;
        anyLost = false;
        lostRetransmissionValid = false;
        if (xmitTs == NONE) {
            return 0;
        }
        long timeout = 0;
        for (int k = 0; k < count; k++) {
            int i = idx(k);
            if ((flags[i] & SACKED) != 0) {
                continue;
            }
            if (!sentAfter(xmitTs, endSeq, xmit[i], end[i])) {
                if ((flags[i] & RETRANSMITTED) == 0) {
                    break; // original transmissions go out in sequence order: the rest are later
                }
                continue;
            }
            long remaining = xmit[i] + rtt + reoWnd - now;
            if (remaining <= 0) {
                if ((flags[i] & LOST) == 0 && (flags[i] & RETRANSMITTED) != 0 && !lostRetransmissionValid) {
                    lostRetransmission = start[i];
                    lostRetransmissionValid = true;
                }
                flags[i] |= LOST;
                lostEnd = end[i];
                anyLost = true;
            } else {
                timeout = Math.max(timeout, remaining);
            }
        }
        return timeout;
    }

    /** Whether the last {@link #detectLoss} found lost data. */
    boolean anyLost() {
        return anyLost;
    }

    /** The end of the highest record the last {@link #detectLoss} found lost. */
    int lostEnd() {
        return lostEnd;
    }

    /** Whether the last {@link #detectLoss} newly found a retransmission lost. */
    boolean lostRetransmission() {
        return lostRetransmissionValid;
    }

    /** The start of the first retransmission found lost. */
    int lostRetransmissionStart() {
        return lostRetransmission;
    }

    /** After an RTO the scoreboard is forgotten (RFC 2018 §8), and so are the SACK marks here. */
    void forgetSacks() {
        for (int k = 0; k < count; k++) {
            flags[idx(k)] &= ~SACKED;
        }
    }

    boolean reorderingSeen() {
        return reorderingSeen;
    }

    long reoWndFloor() {
        return reoWndFloor;
    }

    int reoWndMult() {
        return reoWndMult;
    }

    long minRtt() {
        return minRtt;
    }

    /** Records in the log (segments sent and not yet cumulatively acknowledged). */
    int size() {
        return count;
    }

    void clear() {
        head = 0;
        count = 0;
        start = NO_INTS;
        end = NO_INTS;
        xmit = NO_LONGS;
        flags = NO_BYTES;
    }

    private int idx(int k) {
        return (head + k) & (start.length - 1);
    }

    private void grow() {
        int n = Math.max(16, start.length * 2);
        int[] s = new int[n];
        int[] e = new int[n];
        long[] x = new long[n];
        byte[] f = new byte[n];
        for (int k = 0; k < count; k++) {
            int i = idx(k);
            s[k] = start[i];
            e[k] = end[i];
            x[k] = xmit[i];
            f[k] = flags[i];
        }
        start = s;
        end = e;
        xmit = x;
        flags = f;
        head = 0;
    }
}
