package io.opsec.stack.tcp;

import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpOption.SackBlock;
import java.util.ArrayList;
import java.util.List;

/**
 * The sender's record of SACKed data (RFC 6675 §3 "scoreboard"): sorted, merged ranges above
 * SND.UNA that the receiver reported holding. Sequence numbers only through {@link SeqNum}.
 */
final class Scoreboard {
    private final ArrayList<int[]> ranges = new ArrayList<>(); // [left, right), sorted, disjoint, not adjacent

    /**
     * Records the blocks of one ACK, ignoring any that are not within (SND.UNA, SND.NXT]
     * (RFC 2018 §4; a D-SACK below SND.UNA is not a hole report).
     *
     * @return bytes newly marked as SACKed
     */
    int update(List<SackBlock> blocks, int una, int sndNxt) {
        int added = 0;
        for (SackBlock b : blocks) {
            int l = b.left();
            int r = b.right();
            if (!SeqNum.lt(l, r) || SeqNum.le(r, una) || SeqNum.gt(r, sndNxt) || SeqNum.lt(l, una)) {
                continue;
            }
            added += add(l, r);
        }
        return added;
    }

    private int add(int l, int r) {
        int before = total();
        int i = 0;
        while (i < ranges.size() && SeqNum.lt(ranges.get(i)[1], l)) {
            i++;
        }
        int nl = l;
        int nr = r;
        while (i < ranges.size() && SeqNum.le(ranges.get(i)[0], nr)) {
            int[] x = ranges.remove(i);
            nl = SeqNum.min(nl, x[0]);
            nr = SeqNum.max(nr, x[1]);
        }
        ranges.add(i, new int[] {nl, nr});
        return total() - before;
    }

    private int total() {
        int t = 0;
        for (int[] x : ranges) {
            t += x[1] - x[0];
        }
        return t;
    }

    void discardBelow(int una) {
        while (!ranges.isEmpty()) {
            int[] x = ranges.get(0);
            if (SeqNum.le(x[1], una)) {
                ranges.remove(0);
            } else {
                if (SeqNum.lt(x[0], una)) {
                    x[0] = una;
                }
                break;
            }
        }
    }

    void clear() {
        ranges.clear();
    }

    boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** The highest SACKed sequence number plus one, or {@code una} when nothing is SACKed. */
    int highestSacked(int una) {
        return ranges.isEmpty() ? una : ranges.get(ranges.size() - 1)[1];
    }

    /**
     * RFC 6675 §4 IsLost(seq): more than (DupThresh - 1) * SMSS bytes, or DupThresh
     * discontiguous ranges, SACKed above it.
     */
    boolean isLost(int seq, int smss, int dupThresh) {
        long bytes = 0;
        int count = 0;
        for (int i = ranges.size() - 1; i >= 0; i--) {
            int[] x = ranges.get(i);
            if (SeqNum.le(x[1], seq)) {
                break;
            }
            bytes += SeqNum.diff(x[1], SeqNum.max(x[0], seq + 1));
            count++;
        }
        return bytes > (long) (dupThresh - 1) * smss || count >= dupThresh;
    }

    /** Every unSACKed byte below the returned sequence number satisfies IsLost(); {@code una} if none. */
    int lostBoundary(int una, int smss, int dupThresh) {
        long bytes = 0;
        int count = 0;
        for (int i = ranges.size() - 1; i >= 0; i--) {
            int[] x = ranges.get(i);
            bytes += SeqNum.diff(x[1], x[0]);
            count++;
            if (bytes > (long) (dupThresh - 1) * smss || count >= dupThresh) {
                return x[0];
            }
        }
        return una;
    }

    /** The first sequence number at or after {@code from} that is not SACKed (at most {@code limit}). */
    int nextUnsacked(int from, int limit) {
        int s = from;
        for (int[] x : ranges) {
            if (SeqNum.le(x[1], s)) {
                continue;
            }
            if (SeqNum.le(x[0], s)) {
                s = x[1];
            } else {
                break;
            }
        }
        return SeqNum.min(s, SeqNum.max(limit, from));
    }

    /** The start of the first SACKed range after {@code seq}, or {@code limit}. */
    int nextSacked(int seq, int limit) {
        for (int[] x : ranges) {
            if (SeqNum.gt(x[0], seq)) {
                return SeqNum.min(x[0], limit);
            }
        }
        return limit;
    }

    /** SACKed bytes within [from, to). */
    long sackedBetween(int from, int to) {
        long n = 0;
        for (int[] x : ranges) {
            int l = SeqNum.max(x[0], from);
            int r = SeqNum.min(x[1], to);
            if (SeqNum.lt(l, r)) {
                n += SeqNum.diff(r, l);
            }
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int[] x : ranges) {
            sb.append(sb.length() > 1 ? " " : "").append(SeqNum.toString(x[0])).append(':')
                    .append(SeqNum.toString(x[1]));
        }
        return sb.append(']').toString();
    }
}
