package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.withBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** RFC 1071 sums and RFC 1624 incremental updates. */
class ChecksumTest {

    @Test
    void rfc1071Example_sumsToDdf2() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to 0xddf2; the checksum is its complement.
        int checksum = withBytes("0001f203f4f5f6f7", buf -> Checksum.compute(buf, 0, 8));
        assertEquals(0x220d, checksum);
    }

    @Test
    void oddLength_padsAZeroByte() {
        int checksum = withBytes("0001f203f4f5f6f7aa", buf -> Checksum.compute(buf, 0, 9));
        assertEquals(0x780c, checksum);
    }

    @Test
    void widePath_agreesWithAWordAtATimeSum_atEveryOffsetAndLength() {
        SplittableRandom rnd = new SplittableRandom(1071);
        byte[] data = new byte[300];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) rnd.nextInt(256);
        }
        ByteBuf buf = Unpooled.wrappedBuffer(data);
        try {
            for (int off = 0; off < 9; off++) {
                for (int len = 0; len + off <= data.length; len += 7) {
                    assertEquals(naive(data, off, len), Checksum.compute(buf, off, len), "offset " + off + " len " + len);
                }
            }
        } finally {
            buf.release();
        }
    }

    private static int naive(byte[] d, int off, int len) {
        long sum = 0;
        for (int i = 0; i < len; i += 2) {
            int hi = d[off + i] & 0xFF;
            int lo = i + 1 < len ? d[off + i + 1] & 0xFF : 0;
            sum += (hi << 8) | lo;
            sum = (sum & 0xFFFF) + (sum >>> 16);
        }
        return (int) (~sum & 0xFFFF);
    }

    @Test
    void rfc1624Example_givesZeroNotMinusZero() {
        // RFC 1624 §4: m = 0x5555 becomes 0x3285 under HC = 0xDD2F; eqn. 3 gives 0x0000 as recomputation does.
        assertEquals(0x0000, Checksum.update16(0xDD2F, 0x5555, 0x3285));
    }

    @Test
    void update32_ofAnAddress_matchesRecomputation() {
        String packet = "4500002b1c4640004006925fc6120001c6120002" + "03e80050010203040a0b0c0d5018020079e20000686921";
        withBytes(packet, buf -> {
            int oldSrc = buf.getInt(Ipv4Packet.SRC);
            int newSrc = Ipv4Address.parse("203.0.113.77");
            int ipSum = Checksum.update32(buf.getUnsignedShort(Ipv4Packet.CHECKSUM), oldSrc, newSrc);
            // The address is in the TCP pseudo-header too (RFC 9293 §3.1), so both checksums change.
            int tcpSum = Checksum.update32(buf.getUnsignedShort(20 + TcpPacket.CHECKSUM), oldSrc, newSrc);
            buf.setInt(Ipv4Packet.SRC, newSrc);
            buf.setShort(Ipv4Packet.CHECKSUM, 0);
            assertEquals(Checksum.compute(buf, 0, 20), ipSum);
            buf.setShort(Ipv4Packet.CHECKSUM, ipSum);
            buf.setShort(20 + TcpPacket.CHECKSUM, tcpSum);
            assertEquals(true, TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).isOk());
            return null;
        });
    }
}
