package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.emitted;
import static io.opsec.stack.wire.WireTesting.withBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** IPv4 header checks (RFC 791) with golden bytes; checksums in the hex were computed by a separate tool. */
class Ipv4PacketTest {
    /** The well-known example header 192.168.0.1 > 192.168.0.199, UDP, checksum 0xb861. */
    private static final String UDP_HEADER = "45000073000040004011b861c0a80001c0a800c7";
    /** 198.18.0.1:1000 > 198.18.0.2:80 [P.] "hi!", identification 0x1c46. */
    private static final String DATA_PACKET = "4500002b1c4640004006925fc6120001c6120002"
            + "03e80050010203040a0b0c0d5018020079e20000" + "686921";
    /** IHL 6 with four zero option bytes, then a SYN from port 1 to 2. */
    private static final String IHL6_PACKET = "4600002c000040004006ada4c6120001c612000200000000"
            + "000100020000000300000004500200052" + "3ac0000";

    @Test
    void wellKnownHeader_verifiesAndReadsEveryField() {
        // Padded to the total length it claims, so the length check passes.
        String packet = UDP_HEADER + "00".repeat(0x73 - 20);
        withBytes(packet, buf -> {
            Ipv4Packet p = Ipv4Packet.check(buf, true).value();
            assertEquals(4, p.version());
            assertEquals(20, p.headerLength());
            assertEquals(0x73, p.totalLength());
            assertTrue(p.dontFragment());
            assertFalse(p.isFragment());
            assertEquals(64, p.ttl());
            assertEquals(17, p.protocol());
            assertEquals(0xb861, p.checksum());
            assertEquals("192.168.0.1", Ipv4Address.format(p.source()));
            assertEquals("192.168.0.199", Ipv4Address.format(p.destination()));
            assertEquals(0x73 - 20, p.payloadLength());
            return null;
        });
    }

    @Test
    void udpPacket_isReportedAsNotTcp() {
        assertEquals(ParseError.IP_NOT_TCP, withBytes(UDP_HEADER + "00".repeat(0x73 - 20),
                buf -> TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).error()));
    }

    @Test
    void header_emitsGoldenBytes() {
        Ipv4Header h = new Ipv4Header(20, 0, 0x73, 0, Ipv4Packet.FLAG_DF, 64, 17, 0,
                Ipv4Address.parse("192.168.0.1"), Ipv4Address.parse("192.168.0.199"));
        assertEquals(UDP_HEADER, emitted(h::emit));
    }

    @Test
    void headerWithOptions_isSkipped_andEmitsZeroedOptions() {
        withBytes(IHL6_PACKET, buf -> {
            TcpSegment seg = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).value();
            assertEquals(24, seg.ip().headerLength());
            assertEquals(1, seg.tcp().sourcePort());
            assertEquals(2, seg.tcp().destinationPort());
            assertEquals(IHL6_PACKET.substring(0, 48), emitted(seg.ip()::emit));
            return null;
        });
    }

    @Test
    void checksumCoversOptions() {
        // Flip a bit in the (zero) option bytes: the header checksum no longer verifies.
        String bad = IHL6_PACKET.substring(0, 40) + "01" + IHL6_PACKET.substring(42);
        assertEquals(ParseError.IP_BAD_CHECKSUM, withBytes(bad, buf -> Ipv4Packet.check(buf, true).error()));
        boolean unverified = withBytes(bad, buf -> Ipv4Packet.check(buf, false).isOk());
        assertTrue(unverified, "unverified, the header is fine");
    }

    @Test
    void dataPacket_parsesEndToEnd() {
        withBytes(DATA_PACKET, buf -> {
            TcpSegment seg = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).value();
            assertEquals(0x1c46, seg.ip().identification());
            assertEquals(0x01020304, seg.tcp().seq());
            assertEquals(0x0a0b0c0d, seg.tcp().ack());
            assertEquals(TcpFlags.ACK | TcpFlags.PSH, seg.tcp().flags());
            assertEquals(512, seg.tcp().window());
            assertEquals(0x79e2, seg.tcp().checksum());
            assertEquals("686921", io.netty.buffer.ByteBufUtil.hexDump(seg.payload()));
            return null;
        });
    }

    @Test
    void dataPacket_emitsGoldenBytes() {
        int a = Ipv4Address.parse("198.18.0.1");
        int b = Ipv4Address.parse("198.18.0.2");
        assertEquals(DATA_PACKET, emitted(out -> withBytes("686921", payload -> {
            TcpSegment.emit(out, a, b, 0x1c46, TcpHeader.of(1000, 80, 0x01020304, 0x0a0b0c0d,
                    TcpFlags.ACK | TcpFlags.PSH, 512, java.util.List.of()), payload);
            return null;
        })));
    }

    @Test
    void linkPaddingPastTotalLength_isIgnored() {
        withBytes(DATA_PACKET + "000000000000", buf -> {
            TcpSegment seg = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).value();
            assertEquals(3, seg.payloadLength());
            return null;
        });
    }

    @Test
    void malformedHeaders_areTypedErrors() {
        assertEquals(ParseError.IP_TRUNCATED, ipError(""));
        assertEquals(ParseError.IP_TRUNCATED, ipError(DATA_PACKET.substring(0, 38)));
        assertEquals(ParseError.IP_BAD_VERSION, ipError("6" + DATA_PACKET.substring(1)));
        assertEquals(ParseError.IP_BAD_IHL, ipError("44" + DATA_PACKET.substring(2)));
        assertEquals(ParseError.IP_BAD_IHL, ipError("4f" + DATA_PACKET.substring(2)), "60-byte header in 43 bytes");
        assertEquals(ParseError.IP_BAD_TOTAL_LENGTH, ipError("45000013" + DATA_PACKET.substring(8)));
        assertEquals(ParseError.IP_BAD_TOTAL_LENGTH, ipError("4500002c" + DATA_PACKET.substring(8)));
        assertEquals(ParseError.IP_BAD_CHECKSUM, ipError(DATA_PACKET.substring(0, 20) + "925e"
                + DATA_PACKET.substring(24)));
    }

    @Test
    void fragments_areRecognisedAndReported() {
        // MF set: the first fragment. Checksums are not verified here: only the fragment bits matter.
        String first = DATA_PACKET.substring(0, 12) + "2000" + DATA_PACKET.substring(16);
        String last = DATA_PACKET.substring(0, 12) + "00b9" + DATA_PACKET.substring(16);
        withBytes(first, buf -> {
            Ipv4Packet p = Ipv4Packet.check(buf, false).value();
            assertTrue(p.moreFragments());
            assertEquals(0, p.fragmentOffset());
            assertTrue(p.isFragment());
            assertTrue(Ipv4Header.parse(p).isFragment());
            assertEquals(ParseError.IP_FRAGMENT, TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT, false).error());
            return null;
        });
        withBytes(last, buf -> {
            Ipv4Packet p = Ipv4Packet.check(buf, false).value();
            assertFalse(p.moreFragments());
            assertEquals(185 * 8, p.fragmentOffset());
            assertEquals(185 * 8, Ipv4Header.parse(p).fragmentOffset());
            ParseResult<TcpSegment> r = TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT, false);
            assertEquals(ParseError.IP_FRAGMENT, r.error());
            assertTrue(r.toString().contains("offset 1480"), r.toString());
            return null;
        });
    }

    @Test
    void headerValue_refusesOutOfRangeFields() {
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Header(22, 0, 40, 0, 0, 64, 6, 0, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Header(64, 0, 80, 0, 0, 64, 6, 0, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Header(20, 256, 40, 0, 0, 64, 6, 0, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Header(20, 0, 0x10000, 0, 0, 64, 6, 0, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> new Ipv4Header(20, 0, 40, 0, 0, 256, 6, 0, 1, 2));
        Ipv4Header tooShort = new Ipv4Header(24, 0, 20, 0, 0, 64, 6, 0, 1, 2);
        assertThrows(IllegalArgumentException.class, () -> emitted(tooShort::emit));
    }

    private static ParseError ipError(String hex) {
        return withBytes(hex, buf -> TcpSegment.parse(buf, TcpOptions.Codec.DEFAULT).error());
    }
}
