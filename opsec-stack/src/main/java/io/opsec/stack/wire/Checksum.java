package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * <p>All methods borrow their buffers: they read between the given indexes and change neither the
 * reader nor the writer index.
 */
public final class Checksum {
    private Checksum() {}

    /**
     * Adds {@code len} bytes at {@code offset} to a running one's-complement sum (not yet folded).
     * An odd trailing byte is padded with a zero byte, as RFC 1071 §4.1 does.
     */
    public static long add(long sum, ByteBuf buf, int offset, int len) {
        if (len >= 64 && buf.nioBufferCount() == 1) {
            // One bounds check for the whole range, then a plain ByteBuffer loop the JIT unrolls;
            // ByteBuf's per-access checks cost more than the arithmetic on long segments.
            return add(sum, buf.internalNioBuffer(offset, len));
        }
        int i = offset;
        int end = offset + len;
        // Eight bytes at a time while we can: the sum of 32-bit words fits a long with room.
        while (end - i >= 8) {
            long word = buf.getLong(i);
            sum += (word >>> 32) + (word & 0xFFFFFFFFL);
            i += 8;
        }
        while (end - i >= 2) {
            sum += buf.getUnsignedShort(i);
            i += 2;
        }
        if (i < end) {
            sum += (buf.getUnsignedByte(i) << 8);
        }
        return sum;
    }

    /** As {@link #add(long, ByteBuf, int, int)} over a big-endian view's remaining bytes (its position moves). */
    private static long add(long sum, java.nio.ByteBuffer bb) {
        bb.order(java.nio.ByteOrder.BIG_ENDIAN);
        int i = bb.position();
        int end = bb.limit();
        long a = 0;
        long b = 0;
        // Two independent accumulators let the additions overlap; each 32-bit half fits easily.
        while (end - i >= 16) {
            long w1 = bb.getLong(i);
            long w2 = bb.getLong(i + 8);
            a += (w1 >>> 32) + (w1 & 0xFFFFFFFFL);
            b += (w2 >>> 32) + (w2 & 0xFFFFFFFFL);
            i += 16;
        }
        sum += a + b;
        while (end - i >= 2) {
            sum += bb.getShort(i) & 0xFFFF;
            i += 2;
        }
        if (i < end) {
            sum += (bb.get(i) & 0xFF) << 8;
        }
        return sum;
    }

    /** Adds a 16-bit value to a running sum. */
    public static long add16(long sum, int value) {
        return sum + (value & 0xFFFF);
    }

    /** Adds a 32-bit value (as two 16-bit words) to a running sum. */
    public static long add32(long sum, int value) {
        return sum + (value >>> 16) + (value & 0xFFFF);
    }

    /** Folds a running sum into 16 bits and complements it: the value to put in a header. */
    public static int finish(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    /** The checksum of {@code len} bytes at {@code offset}. */
    public static int compute(ByteBuf buf, int offset, int len) {
        return finish(add(0, buf, offset, len));
    }

    /**
     * The sum of the TCP/UDP pseudo-header (RFC 9293 §3.1): source, destination, zero, protocol,
     * and the transport length.
     */
    public static long pseudoHeader(int srcAddr, int dstAddr, int protocol, int length) {
        long sum = 0;
        sum = add32(sum, srcAddr);
        sum = add32(sum, dstAddr);
        sum = add16(sum, protocol);
        sum = add16(sum, length);
        return sum;
    }

    /**
     * Updates a checksum after a 16-bit field changed from {@code oldValue} to {@code newValue},
     * without summing the packet again: RFC 1624 eqn. 3, {@code HC' = ~(~HC + ~m + m')}.
     */
    public static int update16(int checksum, int oldValue, int newValue) {
        long sum = (~checksum & 0xFFFF) + (~oldValue & 0xFFFF) + (newValue & 0xFFFF);
        return finish(sum);
    }

    /** As {@link #update16} for a 32-bit field (an address or a sequence number). */
    public static int update32(int checksum, int oldValue, int newValue) {
        int c = update16(checksum, oldValue >>> 16, newValue >>> 16);
        return update16(c, oldValue & 0xFFFF, newValue & 0xFFFF);
    }
}
