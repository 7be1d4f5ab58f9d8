package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.emitted;
import static io.opsec.stack.wire.WireTesting.withBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** TCP header checks (RFC 9293 §3.1): data offsets, every flag, the pseudo-header checksum. */
class TcpPacketTest {
    private static final int A = Ipv4Address.parse("198.18.0.1");
    private static final int B = Ipv4Address.parse("198.18.0.2");
    /** 1000 > 80, all eight flags, all four reserved bits, urgent pointer 0x1234, window 0. */
    private static final String ALL_FLAGS = "45000028000040004006aea8c6120001c6120002"
            + "03e8005000000000000000005fff0000fd511234";
    /** Data offset 15: forty NOPs. */
    private static final String MAX_OFFSET = "45000050000040004006ae80c6120001c6120002"
            + "03e800500000000100000002f01000036b320000" + "01".repeat(40);

    @Test
    void everyFlagAndReservedBit_parsesAndEmitsGoldenBytes() {
        withBytes(ALL_FLAGS, buf -> {
            TcpHeader h = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).value().tcp();
            assertEquals(0xFF, h.flags());
            for (int bit : new int[] {TcpFlags.FIN, TcpFlags.SYN, TcpFlags.RST, TcpFlags.PSH, TcpFlags.ACK,
                    TcpFlags.URG, TcpFlags.ECE, TcpFlags.CWR}) {
                assertEquals(true, h.has(bit), TcpFlags.names(bit));
            }
            assertEquals("FIN,SYN,RST,PSH,ACK,URG,ECE,CWR", TcpFlags.names(h.flags()));
            assertEquals(0xF, h.reserved());
            assertEquals(0x1234, h.urgentPointer());
            assertEquals(0, h.window());
            assertEquals(ALL_FLAGS, emitted(out -> TcpSegment.emit(out, A, B, 0, h, null)));
            return null;
        });
    }

    @Test
    void maximumDataOffset_parsesAndEmitsGoldenBytes() {
        withBytes(MAX_OFFSET, buf -> {
            TcpSegment seg = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).value();
            assertEquals(60, seg.tcp().headerLength());
            assertEquals(Collections.nCopies(40, new TcpOption.Nop()), seg.tcp().options());
            assertEquals(0, seg.payloadLength());
            assertEquals(MAX_OFFSET, emitted(out -> TcpSegment.emit(out, A, B, 0, seg.tcp(), null)));
            return null;
        });
    }

    @Test
    void dataOffsetBelowFiveOrPastTheSegment_isRefused() {
        // Checksums are not verified here so that only the data offset is wrong.
        assertEquals(ParseError.TCP_BAD_DATA_OFFSET, tcpError(ALL_FLAGS.substring(0, 64) + "4f"
                + ALL_FLAGS.substring(66)));
        assertEquals(ParseError.TCP_BAD_DATA_OFFSET, tcpError(ALL_FLAGS.substring(0, 64) + "0f"
                + ALL_FLAGS.substring(66)));
        assertEquals(ParseError.TCP_BAD_DATA_OFFSET, tcpError(ALL_FLAGS.substring(0, 64) + "6f"
                + ALL_FLAGS.substring(66)));
        assertEquals(ParseError.TCP_BAD_DATA_OFFSET, tcpError(MAX_OFFSET.substring(0, 4) + "004f"
                + MAX_OFFSET.substring(8, MAX_OFFSET.length() - 2)));
    }

    @Test
    void shortSegment_isTruncated() {
        // Total length 39: nineteen bytes of TCP.
        assertEquals(ParseError.TCP_TRUNCATED, tcpError("45000027" + ALL_FLAGS.substring(8, 78)));
    }

    private static ParseError tcpError(String hex) {
        return withBytes(hex, buf -> TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT, false).error());
    }

    @Test
    void checksumCoversThePseudoHeader() {
        withBytes(ALL_FLAGS, buf -> {
            Ipv4Packet ip = Ipv4Packet.check(buf, true).value();
            assertEquals(true, TcpPacket.check(buf, 20, 20, A, B, true).isOk());
            assertEquals(ParseError.TCP_BAD_CHECKSUM, TcpPacket.check(buf, 20, 20, A, B + 1, true).error());
            assertEquals(ParseError.TCP_BAD_CHECKSUM, TcpPacket.check(buf, 20, 20, B, A + 1, true).error());
            assertEquals(true, TcpPacket.check(ip, false).isOk());
            assertThrows(IndexOutOfBoundsException.class, () -> TcpPacket.check(buf, 30, 20, A, B, true));
            return null;
        });
    }

    @Test
    void emission_refusesASegmentThatCannotFitAnIpv4Packet_beforeWriting() {
        ByteBuf big = Unpooled.buffer(65516).writeZero(65516);
        ByteBuf out = Unpooled.buffer();
        try {
            TcpHeader h = TcpHeader.of(1, 2, 3, 4, TcpFlags.ACK, 5, List.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.emit(out, big, A, B));
            assertEquals(true, e.getMessage().contains("65536"), e.getMessage());
            assertEquals(0, out.writerIndex());
            big.writerIndex(65515 - 20);
            h.emit(out, big, A, B);
            assertEquals(65515, out.writerIndex());
        } finally {
            big.release();
            out.release();
        }
    }

    @Test
    void headerValue_refusesOutOfRangeFields() {
        assertThrows(IllegalArgumentException.class, () -> TcpHeader.of(65536, 1, 0, 0, 0, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> TcpHeader.of(1, 1, 0, 0, 0x100, 0, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new TcpHeader(1, 1, 0, 0, 16, 0, 0, 0, 0, List.of()));
    }
}
