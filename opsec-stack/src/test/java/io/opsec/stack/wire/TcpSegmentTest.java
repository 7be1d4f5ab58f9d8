package io.opsec.stack.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class TcpSegmentTest {
    private static final int A = Ipv4Address.parse("198.18.0.1");
    private static final int B = Ipv4Address.parse("198.18.0.2");

    /** A SYN as Linux would send it, plus an OPSEC proposal; bytes written by hand from RFC 9293 §3.1. */
    private static final String SYN_HEX =
            "4500004400004000" + "4006" + "0000" + "c6120001" + "c6120002"   // IPv4, checksum patched below
            + "c000" + "0007" + "fffffff0" + "00000000" + "c0" + "02" + "faf0" + "0000" + "0000" // TCP, 48-byte header
            + "020405b4" + "0402" + "080a0000000100000000" + "0103030a" + "fd0605ec0001" + "0000";

    @Test
    void synWithEveryHandshakeOption_roundTripsByteExact() {
        ByteBuf out = Unpooled.buffer();
        try {
            TcpHeader h = TcpHeader.of(0xc000, 7, 0xfffffff0, 0, TcpFlags.SYN, 0xfaf0, List.of(
                    new TcpOption.Mss(1460), new TcpOption.SackPermitted(), new TcpOption.Timestamps(1, 0),
                    new TcpOption.Nop(), new TcpOption.WindowScale(10), OpsecOption.experimental(0, 1)));
            TcpSegment.emit(out, A, B, 0, h, null);
            byte[] expected = HexFormat.of().parseHex(SYN_HEX);
            // Patch in checksums computed independently of the emitter.
            ByteBuf e = Unpooled.wrappedBuffer(expected);
            e.setShort(10, Checksum.compute(e, 0, 20));
            long sum = Checksum.pseudoHeader(A, B, 6, 48);
            e.setShort(20 + 16, Checksum.finish(Checksum.add(sum, e, 20, 48)));
            byte[] actual = new byte[out.readableBytes()];
            out.getBytes(0, actual);
            assertArrayEquals(expected, actual);

            TcpSegment seg = TcpSegment.parse(out, TcpOptions.Codec.DEFAULT).value();
            assertEquals(h.withOptions(List.of(new TcpOption.Mss(1460), new TcpOption.SackPermitted(),
                    new TcpOption.Timestamps(1, 0), new TcpOption.Nop(), new TcpOption.WindowScale(10),
                    OpsecOption.experimental(0, 1), new TcpOption.Eol())).options(), seg.tcp().options());
            assertEquals(0xfffffff0, seg.tcp().seq());
            assertEquals(0, seg.payloadLength());
        } finally {
            out.release();
        }
    }

    @Test
    void flippedPayloadBit_failsTcpChecksum() {
        ByteBuf out = Unpooled.buffer();
        try {
            TcpSegment.emit(out, A, B, 1, TcpHeader.of(1, 2, 3, 4, TcpFlags.ACK | TcpFlags.PSH, 100, List.of()),
                    Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
            assertEquals(3, TcpSegment.parse(out, TcpOptions.Codec.DEFAULT).value().payloadLength());
            out.setByte(out.writerIndex() - 1, out.getByte(out.writerIndex() - 1) ^ 0x10);
            assertEquals(ParseError.TCP_BAD_CHECKSUM, TcpSegment.parse(out, TcpOptions.Codec.DEFAULT).error());
        } finally {
            out.release();
        }
    }

    @Test
    void optionsBeyondFortyBytes_areRefusedWithAClearError() {
        ByteBuf out = Unpooled.buffer();
        try {
            List<TcpOption> opts = List.of(new TcpOption.Sack(List.of(new TcpOption.SackBlock(1, 2),
                    new TcpOption.SackBlock(3, 4), new TcpOption.SackBlock(5, 6), new TcpOption.SackBlock(7, 8))),
                    new TcpOption.Timestamps(1, 2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TcpHeader.of(1, 2, 3, 4, TcpFlags.ACK, 1, opts).emit(out, null, A, B));
            assertEquals(true, e.getMessage().contains("at most 40"));
        } finally {
            out.release();
        }
    }

    @Test
    void incrementalUpdate_matchesRecomputation() {
        ByteBuf out = Unpooled.buffer();
        try {
            TcpSegment.emit(out, A, B, 9, TcpHeader.of(1000, 80, 42, 0, TcpFlags.SYN, 5000, List.of()), null);
            int tcpAt = 20;
            int old = out.getUnsignedShort(tcpAt + TcpPacket.WINDOW);
            int oldSum = out.getUnsignedShort(tcpAt + TcpPacket.CHECKSUM);
            out.setShort(tcpAt + TcpPacket.WINDOW, 1234);
            out.setShort(tcpAt + TcpPacket.CHECKSUM, Checksum.update16(oldSum, old, 1234));
            assertEquals(true, TcpSegment.parse(out, TcpOptions.Codec.DEFAULT).isOk());
        } finally {
            out.release();
        }
    }

    @Test
    void seqNum_comparesAcrossTheWrap() {
        assertEquals(true, SeqNum.lt(0xfffffff0, 0x10));
        assertEquals(true, SeqNum.gt(0x10, 0xfffffff0));
        assertEquals(true, SeqNum.inWindow(0x5, 0xfffffff0, 0x20));
        assertEquals(false, SeqNum.inWindow(0x10, 0xfffffff0, 0x20));
        assertEquals(0x20, SeqNum.diff(0x10, 0xfffffff0));
    }
}
