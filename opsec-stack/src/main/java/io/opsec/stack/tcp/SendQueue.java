package io.opsec.stack.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The bytes of the send stream from SND.UNA on: sent-but-unacknowledged, then not yet sent.
 * Data is copied in (so the caller keeps its buffer) into chunks the queue owns; segments are
 * built from retained slices; acknowledged bytes are dropped from the front. Memory is bounded
 * by the capacity (plus less than one chunk of slack).
 */
final class SendQueue {
    private static final int CHUNK = 16 * 1024;
    private final ByteBufAllocator alloc;
    private final int capacity;
    private final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>();
    private int size;

    SendQueue(ByteBufAllocator alloc, int capacity) {
        this.alloc = alloc;
        this.capacity = capacity;
    }

    int size() {
        return size;
    }

    int free() {
        return capacity - size;
    }

    int capacity() {
        return capacity;
    }

    /**
     * Copies up to {@code free()} readable bytes of {@code src}, advancing its reader index.
     *
     * @param src borrowed
     * @return bytes taken
     */
    int append(ByteBuf src) {
        int n = Math.min(src.readableBytes(), free());
        int left = n;
        while (left > 0) {
            ByteBuf tail = chunks.peekLast();
            if (tail == null || !tail.isWritable()) {
                tail = alloc.buffer(CHUNK, CHUNK);
                chunks.addLast(tail);
            }
            int k = Math.min(left, tail.writableBytes());
            tail.writeBytes(src, k);
            left -= k;
        }
        size += n;
        return n;
    }

    /**
     * A retained view of {@code len} bytes starting {@code offset} bytes after SND.UNA; the caller
     * releases it.
     */
    ByteBuf slice(int offset, int len) {
        if (offset < 0 || len < 0 || offset + len > size) {
            throw new IndexOutOfBoundsException("slice " + offset + "+" + len + " of " + size);
        }
        if (len == 0) {
            return alloc.buffer(0, 0);
        }
        CompositeByteBuf comp = null;
        int skip = offset;
        int left = len;
        Iterator<ByteBuf> it = chunks.iterator();
        while (left > 0) {
            ByteBuf c = it.next();
            int r = c.readableBytes();
            if (skip >= r) {
                skip -= r;
                continue;
            }
            int k = Math.min(left, r - skip);
            ByteBuf part = c.retainedSlice(c.readerIndex() + skip, k);
            skip = 0;
            left -= k;
            if (comp == null && left == 0) {
                return part;
            }
            if (comp == null) {
                comp = alloc.compositeBuffer(Integer.MAX_VALUE);
            }
            comp.addComponent(true, part);
        }
        return comp;
    }

    /** Drops {@code n} acknowledged bytes from the front. */
    void discard(int n) {
        if (n > size) {
            throw new IllegalArgumentException("discard " + n + " of " + size);
        }
        size -= n;
        while (n > 0) {
            ByteBuf c = chunks.peekFirst();
            int r = c.readableBytes();
            if (n >= r && (r > 0 || !c.isWritable())) {
                chunks.pollFirst().release();
                n -= r;
            } else {
                c.skipBytes(n);
                n = 0;
            }
        }
        ByteBuf head = chunks.peekFirst();
        if (head != null && head.readableBytes() == 0 && !head.isWritable()) {
            chunks.pollFirst().release();
        }
    }

    /** Releases everything. */
    void release() {
        ByteBuf c;
        while ((c = chunks.pollFirst()) != null) {
            c.release();
        }
        size = 0;
    }
}
