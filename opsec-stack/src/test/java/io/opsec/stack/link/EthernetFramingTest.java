package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.opsec.stack.testing.TrackingAllocator;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Ethernet II framing over a memory wire whose far end sees and sends raw frames. */
class EthernetFramingTest {
    private static final MacAddress US = MacAddress.parse("02:00:00:00:00:02");
    private static final MacAddress PEER = MacAddress.parse("52:54:00:12:34:01");
    /** A 20-byte IPv4 header, no payload: 198.18.0.2 -> 198.18.0.1, protocol 253. */
    private static final String IPV4 = "45000014000040004033fd00c6120002c6120001";

    private static ByteBuf hex(String h) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(h));
    }

    private static String hex(ByteBuf b) {
        return ByteBufUtil.hexDump(b);
    }

    private final TrackingAllocator alloc = new TrackingAllocator();

    private MemoryLink.Pair wire() {
        return MemoryLink.builder().mtu(1514).build();
    }

    private EthernetFraming framing(Link inner) {
        return EthernetFraming.builder(inner).local(US).peer(PEER).allocator(alloc).build();
    }

    @Test
    void transmit_prependsPeerOursAndIpv4Type_goldenBytes() {
        try (MemoryLink.Pair w = wire()) {
            EthernetFraming eth = framing(w.a());
            assertEquals(1500, eth.mtu(), "the inner 1514 less 14");
            eth.transmit(hex(IPV4), 0);
            ByteBuf frame = w.b().receive(0);
            assertEquals("525400123401" + "020000000002" + "0800" + IPV4, hex(frame));
            frame.release();
            assertEquals(1, eth.counters().sent());
        }
        assertEquals(0, alloc.live(), "the frame was released by the wire's reader");
    }

    @Test
    void receive_ipv4ForUs_returnsThePacketWithoutTheHeader() {
        try (MemoryLink.Pair w = wire()) {
            EthernetFraming eth = framing(w.a());
            w.b().transmit(hex("020000000002" + "525400123401" + "0800" + IPV4), 0);
            ByteBuf p = eth.receive(0);
            assertEquals(IPV4, hex(p));
            p.release();
            assertEquals(1, eth.counters().received());
        }
    }

    @Test
    void receive_broadcastIpv4_isKept_andPaddingStaysPastTheTotalLength() {
        try (MemoryLink.Pair w = wire()) {
            EthernetFraming eth = framing(w.a());
            // A 20-byte packet padded to Ethernet's 46-byte minimum payload.
            w.b().transmit(hex("ffffffffffff" + "525400123401" + "0800" + IPV4 + "00".repeat(26)), 0);
            ByteBuf p = eth.receive(0);
            assertEquals(46, p.readableBytes());
            assertEquals(20, p.getUnsignedShort(p.readerIndex() + 2), "the IPv4 total length bounds the packet");
            p.release();
        }
    }

    @Test
    void receive_arpForeignAndRunts_areDroppedAndCounted_andTheNextPacketStillComes() {
        try (MemoryLink.Pair w = wire()) {
            EthernetFraming eth = framing(w.a());
            w.b().transmit(hex("ffffffffffff" + "525400123401" + "0806" + "0001080006040001"), 0); // ARP request
            w.b().transmit(hex("020000000003" + "525400123401" + "0800" + IPV4), 0);  // flooded to another station
            w.b().transmit(hex("3333000000fb" + "525400123401" + "86dd" + "60000000"), 0);  // IPv6 multicast
            w.b().transmit(hex("0200000000"), 0);                                            // 5 bytes
            w.b().transmit(hex("020000000002" + "525400123401" + "0800" + IPV4), 0);
            ByteBuf p = eth.receive(0);
            assertEquals(IPV4, hex(p));
            p.release();
            assertNull(eth.receive(0));
            assertEquals(new EthernetFraming.Counters(0, 1, 1, 2, 1), eth.counters());
        }
    }

    @Test
    void nextArrivalAndWakeup_comeFromTheInnerLink() {
        try (MemoryLink.Pair w = wire()) {
            EthernetFraming eth = framing(w.a());
            int[] wakes = {0};
            eth.onArrival(() -> wakes[0]++);
            assertEquals(Long.MAX_VALUE, eth.nextArrivalAt());
            w.b().transmit(hex("020000000002" + "525400123401" + "0800" + IPV4), 7);
            assertEquals(1, wakes[0]);
            assertEquals(w.a().nextArrivalAt(), eth.nextArrivalAt());
            eth.receive(7).release();
        }
    }

    @Test
    void close_closesTheInnerLink() {
        MemoryLink.Pair w = wire();
        EthernetFraming eth = framing(w.a());
        w.b().transmit(hex("020000000002" + "525400123401" + "0800" + IPV4), 0);
        eth.close();
        assertNull(w.a().receive(0), "closing released what was queued");
        w.close();
    }

    @Test
    void builder_refusesAGroupAddressAndAnInnerMtuTooSmall() {
        try (MemoryLink.Pair w = wire(); MemoryLink.Pair tiny = MemoryLink.builder().mtu(68).build()) {
            assertThrows(IllegalArgumentException.class,
                    () -> EthernetFraming.builder(w.a()).local(MacAddress.BROADCAST).peer(PEER).build());
            assertThrows(IllegalArgumentException.class,
                    () -> EthernetFraming.builder(tiny.a()).local(US).peer(PEER).build());
            assertThrows(NullPointerException.class, () -> EthernetFraming.builder(w.a()).local(US).build());
        }
    }

    @Test
    void macAddress_parsesPrintsReadsAndWrites() {
        MacAddress m = MacAddress.parse("52:54:00:ab:CD:01");
        assertEquals(0x525400ABCD01L, m.bits());
        assertEquals("52:54:00:ab:cd:01", m.toString());
        ByteBuf b = Unpooled.buffer();
        m.write(b);
        assertEquals("525400abcd01", hex(b));
        assertEquals(m, MacAddress.read(b, 0));
        b.release();
        assertFalse(m.isGroup());
        assertTrue(MacAddress.BROADCAST.isGroup());
        assertTrue(MacAddress.parse("33:33:00:00:00:01").isGroup());
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52:54:00:ab:cd"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("52:54:00:ab:cd:1"));
        assertThrows(IllegalArgumentException.class, () -> new MacAddress(1L << 48));
    }
}
