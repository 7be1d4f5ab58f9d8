package io.opsec.stack.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpOption.SackBlock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The receive side's memory: in-order bytes waiting for the application, and out-of-order
 * segments waiting for the hole before them (RFC 9293 §3.10.7.4, seventh). Out-of-order data is
 * copied into buffers this class owns (never a retained slice of a whole packet), so memory is
 * bounded by what the advertised window allowed in. It also remembers which blocks arrived most
 * recently, for the SACK option (RFC 2018 §4).
 */
final class ReceiveBuffer {
    /** One out-of-order run of bytes, [seq, seq + data.readableBytes()). */
    private record Piece(int seq, ByteBuf data) {
        int end() {
            return seq + data.readableBytes();
        }
    }

    /** Most out-of-order pieces held at once. */
    static final int MAX_PIECES = 1024;
    private final ByteBufAllocator alloc;
    private final int capacity;
    private final ArrayDeque<ByteBuf> ready = new ArrayDeque<>();
    private int readyBytes;
    private final ArrayList<Piece> ooo = new ArrayList<>(); // sorted, non-overlapping
    private int oooBytes;
    private final ArrayList<Integer> recent = new ArrayList<>(4); // seqs of recently received OOO data, newest first

    ReceiveBuffer(ByteBufAllocator alloc, int capacity) {
        this.alloc = alloc;
        this.capacity = capacity;
    }

    int capacity() {
        return capacity;
    }

    int readableBytes() {
        return readyBytes;
    }

    int outOfOrderBytes() {
        return oooBytes;
    }

    boolean hasOutOfOrder() {
        return !ooo.isEmpty();
    }

    /** Bytes of memory free for new data. */
    int free() {
        return Math.max(0, capacity - readyBytes - oooBytes);
    }

    /**
     * Stores in-order bytes at RCV.NXT; returns how many there were (they are all copied).
     *
     * @param data borrowed; not modified
     */
    int appendInOrder(ByteBuf data) {
        int n = data.readableBytes();
        if (n > 0) {
            ByteBuf copy = alloc.buffer(n, n);
            copy.writeBytes(data, data.readerIndex(), n);
            ready.addLast(copy);
            readyBytes += n;
        }
        return n;
    }

    /**
     * Stores out-of-order bytes starting at {@code seq} (after RCV.NXT), keeping what is already
     * held where they overlap.
     *
     * @param data borrowed; not modified
     * @return whether any new byte was stored
     */
    boolean insertOutOfOrder(int seq, ByteBuf data, int rcvNxt) {
        if (ooo.size() >= MAX_PIECES) {
            // A peer sending many tiny out-of-order pieces would cost far more memory in
            // bookkeeping than in bytes; beyond this many holes, new pieces are dropped (the
            // sender retransmits them), as Linux prunes its out-of-order queue.
            return false;
        }
        int end = seq + data.readableBytes();
        boolean stored = false;
        int cursor = seq;
        int i = 0;
        while (SeqNum.lt(cursor, end)) {
            while (i < ooo.size() && SeqNum.le(ooo.get(i).end(), cursor)) {
                i++;
            }
            int gapEnd = end;
            if (i < ooo.size()) {
                Piece p = ooo.get(i);
                if (SeqNum.le(p.seq(), cursor)) {
                    cursor = p.end();
                    continue;
                }
                gapEnd = SeqNum.min(end, p.seq());
            }
            int len = gapEnd - cursor;
            ByteBuf copy = alloc.buffer(len, len);
            copy.writeBytes(data, data.readerIndex() + (cursor - seq), len);
            ooo.add(i, new Piece(cursor, copy));
            oooBytes += len;
            stored = true;
            i++;
            cursor = gapEnd;
        }
        recent.remove(Integer.valueOf(seq));
        recent.add(0, seq);
        while (recent.size() > 4) {
            recent.remove(recent.size() - 1);
        }
        return stored;
    }

    /**
     * Moves the out-of-order data that {@code rcvNxt} now reaches into the in-order queue.
     *
     * @return the new RCV.NXT
     */
    int drainInOrder(int rcvNxt) {
        while (!ooo.isEmpty()) {
            Piece p = ooo.get(0);
            if (SeqNum.gt(p.seq(), rcvNxt)) {
                break;
            }
            ooo.remove(0);
            oooBytes -= p.data().readableBytes();
            if (SeqNum.le(p.end(), rcvNxt)) {
                p.data().release();
                continue;
            }
            int end = p.end();
            p.data().skipBytes(rcvNxt - p.seq());
            readyBytes += p.data().readableBytes();
            rcvNxt = end;
            ready.addLast(p.data());
        }
        return rcvNxt;
    }

    /**
     * Up to {@code max} in-order bytes, removed from the buffer; the caller owns the result.
     * Returns {@code null} when nothing is readable.
     */
    ByteBuf read(int max) {
        if (readyBytes == 0 || max <= 0) {
            return null;
        }
        int want = Math.min(max, readyBytes);
        ByteBuf first = ready.peekFirst();
        if (first.readableBytes() >= want) {
            readyBytes -= want;
            if (first.readableBytes() == want) {
                return ready.pollFirst();
            }
            return first.readRetainedSlice(want);
        }
        CompositeByteBuf out = alloc.compositeBuffer(Integer.MAX_VALUE);
        int left = want;
        while (left > 0) {
            ByteBuf c = ready.peekFirst();
            if (c.readableBytes() <= left) {
                left -= c.readableBytes();
                out.addComponent(true, ready.pollFirst());
            } else {
                out.addComponent(true, c.readRetainedSlice(left));
                left = 0;
            }
        }
        readyBytes -= want;
        return out;
    }

    /**
     * The SACK blocks to report, most recent first (RFC 2018 §4), at most {@code max}: each a
     * maximal contiguous run of held out-of-order bytes.
     */
    List<SackBlock> sackBlocks(int max) {
        List<SackBlock> out = new ArrayList<>(max);
        if (ooo.isEmpty() || max <= 0) {
            return out;
        }
        List<SackBlock> all = new ArrayList<>();
        int left = ooo.get(0).seq();
        int right = ooo.get(0).end();
        for (int i = 1; i < ooo.size(); i++) {
            Piece p = ooo.get(i);
            if (p.seq() == right) {
                right = p.end();
            } else {
                all.add(new SackBlock(left, right));
                left = p.seq();
                right = p.end();
            }
        }
        all.add(new SackBlock(left, right));
        for (int seq : recent) {
            for (SackBlock b : all) {
                if (SeqNum.le(b.left(), seq) && SeqNum.lt(seq, b.right()) && !out.contains(b)) {
                    out.add(b);
                    break;
                }
            }
            if (out.size() == max) {
                return out;
            }
        }
        for (SackBlock b : all) {
            if (out.size() == max) {
                break;
            }
            if (!out.contains(b)) {
                out.add(b);
            }
        }
        return out;
    }

    /** Releases everything held. */
    void release() {
        ByteBuf b;
        while ((b = ready.pollFirst()) != null) {
            b.release();
        }
        for (Piece p : ooo) {
            p.data().release();
        }
        ooo.clear();
        readyBytes = 0;
        oooBytes = 0;
    }
}
