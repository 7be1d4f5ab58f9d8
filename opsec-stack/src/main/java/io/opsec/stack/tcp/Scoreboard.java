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
     * What one ACK's SACK option said.
     *
     * @param newlySacked bytes newly marked as SACKed
     * @param dsack       whether the first block is a D-SACK (RFC 2883 §4): it reports a segment
     *                    that arrived twice, not data newly held
     * @param dsackLeft   the D-SACK block's left edge (meaningful only when {@code dsack})
     * @param dsackRight  its right edge
     */
    record Update(int newlySacked, boolean dsack, int dsackLeft, int dsackRight) {
        static final Update NONE = new Update(0, false, 0, 0);
    }

    /**
     * Records the blocks of one ACK. A first block that lies at or below the cumulative ACK, or
     * within the second block, is a D-SACK (RFC 2883 §4) and is reported, not recorded; any
     * other block not within (SND.UNA, SND.NXT] is ignored (RFC 2018 §4).
     *
     * @param ack the ACK's cumulative acknowledgment number
     */
    Update update(List<SackBlock> blocks, int ack, int una, int sndNxt) {
        boolean dsack = false;
        int dl = 0;
        int dr = 0;
        if (!blocks.isEmpty()) {
            SackBlock first = blocks.get(0);
            if (SeqNum.lt(first.left(), first.right())) {
                boolean below = SeqNum.le(first.right(), ack); // RFC 2883 §4.1.1
                boolean within = blocks.size() > 1 && SeqNum.ge(first.left(), blocks.get(1).left())
                        && SeqNum.le(first.right(), blocks.get(1).right()); // RFC 2883 §4.1.2
                if (below || within) {
                    dsack = true;
                    dl = first.left();
                    dr = first.right();
                }
            }
        }
        int added = 0;
        for (int i = dsack ? 1 : 0; i < blocks.size(); i++) {
            SackBlock b = blocks.get(i);
            int l = b.left();
            int r = b.right();
            if (!SeqNum.lt(l, r) || SeqNum.le(r, una) || SeqNum.gt(r, sndNxt) || SeqNum.lt(l, una)) {
                continue;
            }
            added += add(l, r);
        }
        return added == 0 && !dsack ? Update.NONE : new Update(added, dsack, dl, dr);
    }

    /** {@link #update(List, int, int, int)} with the cumulative ACK at {@code una}. */
    int update(List<SackBlock> blocks, int una, int sndNxt) {
        return update(blocks, una, una, sndNxt).newlySacked();
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

    /** Whether every byte of [from, to) is SACKed. */
    boolean covers(int from, int to) {
        for (int[] x : ranges) {
            if (SeqNum.le(x[0], from) && SeqNum.ge(x[1], to)) {
                return true;
            }
            if (SeqNum.gt(x[0], from)) {
                return false;
            }
        }
        return false;
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
