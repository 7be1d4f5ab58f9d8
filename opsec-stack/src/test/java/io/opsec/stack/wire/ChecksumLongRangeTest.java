package io.opsec.stack.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fast path of {@link Checksum#add} (long ranges through one NIO view) agrees with a plain
 * 16-bit RFC 1071 sum on every kind of buffer, at every offset and length.
 */
class ChecksumLongRangeTest {

    private static int reference(byte[] b, int off, int len) {
        long sum = 0;
        for (int i = 0; i + 1 < len; i += 2) {
            sum += ((b[off + i] & 0xFF) << 8) | (b[off + i + 1] & 0xFF);
        }
        if ((len & 1) != 0) {
            sum += (b[off + len - 1] & 0xFF) << 8;
        }
        return Checksum.finish(sum);
    }

    @Test
    void fastPath_matchesTheReference_onHeapDirectPooledAndCompositeBuffers() {
        Random r = new Random(1071);
        for (int round = 0; round < 400; round++) {
            int len = r.nextInt(3000);
            int off = r.nextInt(9);
            byte[] data = new byte[off + len + 5];
            r.nextBytes(data);
            int expected = reference(data, off, len);

            ByteBuf heap = Unpooled.wrappedBuffer(data);
            ByteBuf direct = PooledByteBufAllocator.DEFAULT.directBuffer(data.length).writeBytes(data);
            CompositeByteBuf composite = Unpooled.compositeBuffer();
            int cut = data.length / 2;
            composite.addComponents(true, Unpooled.wrappedBuffer(data, 0, cut),
                    Unpooled.wrappedBuffer(data, cut, data.length - cut));
            try {
                assertEquals(expected, Checksum.compute(heap, off, len), "heap len " + len + " off " + off);
                assertEquals(expected, Checksum.compute(direct, off, len), "direct len " + len + " off " + off);
                assertEquals(expected, Checksum.compute(composite, off, len), "composite len " + len + " off " + off);
            } finally {
                heap.release();
                direct.release();
                composite.release();
            }
        }
    }
}
