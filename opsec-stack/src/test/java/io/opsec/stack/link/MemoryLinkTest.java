package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.opsec.stack.wire.ParseError;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** MemoryLink on virtual time: every test drives both ends from one thread with explicit clocks. */
class MemoryLinkTest {

    private static final long MS = 1_000_000L;

    /** A packet whose first four bytes number it; the rest is filler (MemoryLink does not parse). */
    static ByteBuf packet(int id, int length) {
        ByteBuf b = ByteBufAllocator.DEFAULT.buffer(length);
        b.writeInt(id);
        b.writeZero(length - 4);
        return b;
    }

    /** Takes every packet due by {@code now}, returning their ids and releasing them. */
    static List<Integer> drain(Link end, long now) {
        List<Integer> ids = new ArrayList<>();
        for (ByteBuf p; (p = end.receive(now)) != null; ) {
            ids.add(p.getInt(p.readerIndex()));
            p.release();
        }
        return ids;
    }

    /** One delivery: when and what. */
    record Delivery(long at, String hex) {
    }

    /** Runs the simulation loop: advance to each next arrival and record it, until nothing is queued. */
    static List<Delivery> deliveries(Link end) {
        List<Delivery> out = new ArrayList<>();
        for (long t; (t = end.nextArrivalAt()) != Long.MAX_VALUE; ) {
            ByteBuf p = end.receive(t);
            out.add(new Delivery(t, ByteBufUtil.hexDump(p)));
            p.release();
        }
        return out;
    }

    @Test
    void cleanPair_deliversInOrder_atOnce_inBothDirections() {
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            assertEquals(1500, wire.a().mtu());
            assertEquals(Long.MAX_VALUE, wire.b().nextArrivalAt());
            wire.a().transmit(packet(1, 40), 1000);
            wire.a().transmit(packet(2, 40), 1000);
            wire.b().transmit(packet(3, 40), 1000);
            assertEquals(1000, wire.b().nextArrivalAt());
            assertNull(wire.b().receive(999), "nothing arrives before it was sent");
            assertEquals(List.of(1, 2), drain(wire.b(), 1000));
            assertEquals(List.of(3), drain(wire.a(), 1000));
            assertEquals(new LinkCounters(2, 2, 0, 0, 0, 0, 0, 0, 0), wire.aToB().counters());
            assertEquals(new LinkCounters(1, 1, 0, 0, 0, 0, 0, 0, 0), wire.bToA().counters());
        }
    }

    @Test
    void receive_handsOverTheSameBytes_andOwnership() {
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            ByteBuf sent = ByteBufAllocator.DEFAULT.buffer().writeBytes(new byte[] {0x45, 0, 0, 20, 9, 9});
            sent.readerIndex(1);
            wire.a().transmit(sent, 0);
            ByteBuf got = wire.b().receive(0);
            assertEquals("00001409" + "09", ByteBufUtil.hexDump(got).substring(0, 10));
            assertEquals(1, got.refCnt());
            got.release();
        }
    }

    @Test
    void latency_delaysEveryPacket_andNextArrivalAtSaysWhen() {
        Impairments slow = Impairments.builder().latency(Duration.ofMillis(20)).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(slow).build()) {
            wire.a().transmit(packet(1, 100), 5 * MS);
            assertEquals(25 * MS, wire.b().nextArrivalAt());
            assertNull(wire.b().receive(25 * MS - 1));
            assertEquals(List.of(1), drain(wire.b(), 25 * MS));
            wire.b().transmit(packet(2, 100), 5 * MS);
            assertEquals(5 * MS, wire.a().nextArrivalAt(), "the other direction is not impaired");
            drain(wire.a(), 5 * MS);
        }
    }

    @Test
    void bandwidth_serialisesPacketsBehindEarlierOnes() {
        // 1250 bytes at 1 Mbit/s take 10 ms to serialise.
        Impairments narrow = Impairments.builder().bandwidth(1_000_000).latency(Duration.ofMillis(5)).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(narrow).build()) {
            for (int i = 1; i <= 3; i++) {
                wire.a().transmit(packet(i, 1250), 0);
            }
            wire.a().transmit(packet(4, 1250), 100 * MS); // after the queue drained: no waiting
            List<Delivery> got = deliveries(wire.b());
            assertEquals(List.of(15 * MS, 25 * MS, 35 * MS, 115 * MS), got.stream().map(Delivery::at).toList());
        }
    }

    @Test
    void queueLimit_tailDropsWhenTheBacklogIsFull() {
        Impairments narrow = Impairments.builder().bandwidth(1_000_000).queueLimit(3750).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(narrow).build()) {
            for (int i = 1; i <= 5; i++) {
                wire.a().transmit(packet(i, 1250), 0);
            }
            // Three packets fill the 3750 bytes not yet serialised; the fourth and fifth overflow.
            assertEquals(3, deliveries(wire.b()).size());
            assertEquals(2, wire.aToB().counters().queueOverflow());
            // 25 ms later two packets' worth has gone out: room for two more.
            for (int i = 6; i <= 8; i++) {
                wire.a().transmit(packet(i, 1250), 25 * MS);
            }
            assertEquals(List.of(6, 7), drain(wire.b(), Long.MAX_VALUE - 1));
            assertEquals(3, wire.aToB().counters().queueOverflow());
        }
    }

    @Test
    void loss_dropsTheConfiguredShare_andCountsIt() {
        Impairments lossy = Impairments.builder().loss(0.3).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(7).aToB(lossy).build()) {
            for (int i = 0; i < 10_000; i++) {
                wire.a().transmit(packet(i, 40), i);
            }
            int got = drain(wire.b(), Long.MAX_VALUE - 1).size();
            LinkCounters c = wire.aToB().counters();
            assertEquals(10_000, c.sent());
            assertEquals(got, c.delivered());
            assertEquals(10_000, c.lost() + c.delivered());
            assertTrue(c.lost() > 2_800 && c.lost() < 3_200, "lost " + c.lost());
        }
    }

    @Test
    void totalLoss_deliversNothing_untilHealed() {
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            wire.aToB().impairments(Impairments.builder().loss(1).build());
            wire.a().transmit(packet(1, 40), 0);
            assertEquals(Long.MAX_VALUE, wire.b().nextArrivalAt());
            wire.aToB().impairments(Impairments.NONE);
            wire.a().transmit(packet(2, 40), 1);
            assertEquals(List.of(2), drain(wire.b(), 1));
            assertEquals(1, wire.aToB().counters().lost());
        }
    }

    @Test
    void duplication_deliversAnIndependentSecondCopy() {
        Impairments dup = Impairments.builder().duplicate(1).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(dup).build()) {
            wire.a().transmit(packet(9, 40), 0);
            ByteBuf first = wire.b().receive(0);
            ByteBuf second = wire.b().receive(0);
            assertNull(wire.b().receive(0));
            first.setInt(first.readerIndex(), 77); // the receiver may write into its packet
            assertEquals(9, second.getInt(second.readerIndex()));
            first.release();
            second.release();
            LinkCounters c = wire.aToB().counters();
            assertEquals(1, c.sent());
            assertEquals(1, c.duplicated());
            assertEquals(2, c.delivered());
            assertEquals(0, c.inFlight());
        }
    }

    @Test
    void reorder_letsLaterPacketsOvertake_withinTheBound() {
        Impairments shuffle = Impairments.builder()
                .latency(Duration.ofMillis(10)).reorder(0.5, Duration.ofMillis(30)).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(3).aToB(shuffle).build()) {
            for (int i = 0; i < 200; i++) {
                wire.a().transmit(packet(i, 40), i * MS);
            }
            List<Integer> order = new ArrayList<>();
            for (long t; (t = wire.b().nextArrivalAt()) != Long.MAX_VALUE; ) {
                ByteBuf p = wire.b().receive(t);
                int id = p.getInt(0);
                p.release();
                order.add(id);
                long sentAt = id * MS;
                assertTrue(t >= sentAt + 10 * MS && t <= sentAt + 40 * MS, "packet " + id + " at " + t);
            }
            assertEquals(200, order.size());
            int inversions = 0;
            for (int i = 1; i < order.size(); i++) {
                if (order.get(i) < order.get(i - 1)) {
                    inversions++;
                }
            }
            assertTrue(inversions > 10, "only " + inversions + " reorderings");
        }
    }

    @Test
    void corruption_flipsExactlyTheConfiguredBits() {
        Impairments flip = Impairments.builder().corrupt(1, 3).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(flip).build()) {
            for (int i = 0; i < 50; i++) {
                wire.a().transmit(packet(0, 64), 0);
                ByteBuf p = wire.b().receive(0);
                int bits = 0;
                for (int j = 0; j < 64; j++) {
                    bits += Integer.bitCount(p.getByte(j) & 0xFF);
                }
                p.release();
                assertEquals(3, bits);
            }
            assertEquals(50, wire.aToB().counters().corrupted());
        }
    }

    @Test
    void oneBitCorruption_isAlwaysCaughtByTheChecksums() {
        Impairments flip = Impairments.builder().corrupt(1).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(11).aToB(flip).build()) {
            for (int i = 0; i < 500; i++) {
                wire.a().transmit(tcpPacket(i), 0);
                ByteBuf p = wire.b().receive(0);
                ParseError e = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT).error();
                p.release();
                assertTrue(e != null, "corrupted packet " + i + " parsed cleanly");
            }
        }
    }

    @Test
    void corruption_doesNotTouchTheSendersBuffer() {
        Impairments flip = Impairments.builder().corrupt(1).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(flip).build()) {
            ByteBuf original = packet(5, 40);
            wire.a().transmit(original.retain(), 0); // the sender keeps a reference (as a retransmit queue might)
            ByteBuf got = wire.b().receive(0);
            assertNotEquals(ByteBufUtil.hexDump(original), ByteBufUtil.hexDump(got));
            assertEquals(ByteBufUtil.hexDump(packet40(5)), ByteBufUtil.hexDump(original));
            original.release();
            got.release();
        }
    }

    private static ByteBuf packet40(int id) {
        ByteBuf b = packet(id, 40);
        ByteBuf copy = io.netty.buffer.Unpooled.copiedBuffer(b);
        b.release();
        return copy;
    }

    @Test
    void oversizePackets_areDroppedAndCounted() {
        try (MemoryLink.Pair wire = MemoryLink.builder().mtu(576).build()) {
            assertEquals(576, wire.b().mtu());
            wire.a().transmit(packet(1, 577), 0);
            wire.a().transmit(packet(2, 576), 0);
            assertEquals(List.of(2), drain(wire.b(), 0));
            assertEquals(1, wire.aToB().counters().oversize());
        }
        assertThrows(IllegalArgumentException.class, () -> MemoryLink.builder().mtu(67));
    }

    @Test
    void middlebox_seesEveryPacket_andMayRewriteReplaceOrDrop() {
        AtomicInteger seen = new AtomicInteger();
        Middlebox box = (p, now) -> {
            seen.incrementAndGet();
            int id = p.getInt(p.readerIndex());
            switch (id) {
                case 1:
                    return p;                           // pass
                case 2:
                    p.setInt(p.readerIndex(), 20);      // rewrite in place
                    return p;
                case 3:
                    p.release();                        // replace
                    return packet(30, 40);
                default:
                    p.release();                        // drop
                    return null;
            }
        };
        try (MemoryLink.Pair wire = MemoryLink.builder().middleboxAToB(box).build()) {
            for (int i = 1; i <= 4; i++) {
                wire.a().transmit(packet(i, 40), 0);
            }
            wire.b().transmit(packet(4, 40), 0);
            assertEquals(List.of(1, 20, 30), drain(wire.b(), 0));
            assertEquals(List.of(4), drain(wire.a(), 0), "the middlebox is on a->b only");
            assertEquals(4, seen.get());
            assertEquals(1, wire.aToB().counters().middleboxDropped());
        }
    }

    @Test
    void middlebox_canBeChainedAndReplacedLive() {
        Middlebox plusOne = (p, now) -> p.setInt(p.readerIndex(), p.getInt(p.readerIndex()) + 1);
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            wire.aToB().middlebox(plusOne.andThen(plusOne));
            wire.a().transmit(packet(1, 40), 0);
            wire.aToB().middlebox(null);
            wire.a().transmit(packet(1, 40), 0);
            assertEquals(List.of(3, 1), drain(wire.b(), 0));
        }
    }

    @Test
    void sameSeedAndTransmits_giveTheSameDeliveries_otherSeedsDiffer() {
        Impairments hostile = Impairments.builder().loss(0.1).duplicate(0.05).corrupt(0.05)
                .reorder(0.1, Duration.ofMillis(5)).latency(Duration.ofMillis(2)).bandwidth(10_000_000).build();
        List<Delivery> first = run(hostile, 99);
        assertEquals(first, run(hostile, 99));
        assertNotEquals(first, run(hostile, 100));
    }

    private static List<Delivery> run(Impairments imp, long seed) {
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(seed).impairments(imp).build()) {
            for (int i = 0; i < 300; i++) {
                wire.a().transmit(packet(i, 40 + i), i * 100_000L);
            }
            return deliveries(wire.b());
        }
    }

    @Test
    void changingOneImpairment_doesNotReshuffleTheOthers() {
        // Same seed, loss on or off: the packets that survive carry the same corruption.
        Impairments corrupt = Impairments.builder().corrupt(0.5).build();
        List<Delivery> without = run(corrupt, 5);
        List<Delivery> with = run(corrupt.toBuilder().loss(0.5).build(), 5);
        assertTrue(with.size() < without.size());
        assertTrue(without.containsAll(with));
    }

    @Test
    void onArrival_wakesTheReceivingEnd_forEveryQueuedPacket() {
        Impairments slow = Impairments.builder().latency(Duration.ofMillis(1)).build();
        try (MemoryLink.Pair wire = MemoryLink.builder().aToB(slow).build()) {
            AtomicInteger wakeA = new AtomicInteger();
            AtomicInteger wakeB = new AtomicInteger();
            AtomicInteger wakeB2 = new AtomicInteger();
            wire.a().onArrival(wakeA::incrementAndGet);
            wire.b().onArrival(wakeB::incrementAndGet);
            wire.a().transmit(packet(1, 40), 0);
            assertEquals(1, wakeB.get(), "woken though the packet is due later");
            assertEquals(0, wakeA.get());
            wire.b().onArrival(wakeB2::incrementAndGet); // replaces
            wire.a().transmit(packet(2, 40), 0);
            wire.aToB().impairments(Impairments.builder().loss(1).build());
            wire.a().transmit(packet(3, 40), 0);         // lost: no wakeup
            assertEquals(1, wakeB.get());
            assertEquals(1, wakeB2.get());
            wire.b().transmit(packet(4, 40), 0);
            assertEquals(1, wakeA.get());
            drain(wire.a(), MS);
            drain(wire.b(), MS);
        }
    }

    @Test
    void close_releasesQueuedPackets_andDropsLaterTransmits() {
        MemoryLink.Pair wire = MemoryLink.builder()
                .aToB(Impairments.builder().latency(Duration.ofMillis(5)).build()).build();
        wire.a().transmit(packet(1, 40), 0);
        wire.a().transmit(packet(2, 40), 0);
        wire.b().close();
        assertNull(wire.b().receive(Long.MAX_VALUE - 1));
        assertEquals(Long.MAX_VALUE, wire.b().nextArrivalAt());
        wire.a().transmit(packet(3, 40), MS);  // towards a closed end
        wire.b().transmit(packet(4, 40), MS);  // from a closed end
        assertEquals(3, wire.aToB().counters().discarded());
        assertEquals(1, wire.bToA().counters().discarded());
        assertEquals(Long.MAX_VALUE, wire.a().nextArrivalAt());
        wire.close();
        wire.close(); // idempotent
        // The leak check after this test proves every packet was released.
    }

    @Test
    void bothEnds_drivenFromTwoThreads_loseNothing() throws Exception {
        int n = 20_000;
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            Thread[] threads = new Thread[2];
            long[] received = new long[2];
            Link[] ends = {wire.a(), wire.b()};
            for (int t = 0; t < 2; t++) {
                int self = t;
                threads[t] = new Thread(() -> {
                    Link me = ends[self];
                    int sent = 0;
                    long sum = 0;
                    int got = 0;
                    while (got < n) {
                        if (sent < n) {
                            me.transmit(packet(sent++, 40), 0);
                        }
                        ByteBuf p = me.receive(0);
                        if (p != null) {
                            sum += p.getInt(p.readerIndex());
                            got++;
                            p.release();
                        }
                    }
                    received[self] = sum;
                });
                threads[t].start();
            }
            for (Thread t : threads) {
                t.join(30_000);
            }
            long expected = (long) n * (n - 1) / 2;
            assertEquals(expected, received[0]);
            assertEquals(expected, received[1]);
            assertEquals(n, wire.aToB().counters().delivered());
        }
    }

    @Test
    void impairments_rejectNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Impairments.builder().loss(1.5).build());
        assertThrows(IllegalArgumentException.class, () -> Impairments.builder().loss(Double.NaN).build());
        assertThrows(IllegalArgumentException.class, () -> Impairments.builder().corrupt(0.1, 0).build());
        assertThrows(IllegalArgumentException.class, () -> Impairments.builder().reorder(0.1, Duration.ZERO).build());
        assertThrows(IllegalArgumentException.class, () -> Impairments.builder().bandwidth(-1).build());
        assertSame(Impairments.NONE, MemoryLink.pair().aToB().impairments());
    }

    /** A valid IPv4/TCP packet (both checksums right) with a payload. */
    static ByteBuf tcpPacket(int seq) {
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        ByteBuf payload = io.netty.buffer.Unpooled.wrappedBuffer(("payload " + seq).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        TcpHeader h = TcpHeader.of(40000, 80, seq, 1, TcpFlags.ACK | TcpFlags.PSH, 65535, List.of());
        TcpSegment.emit(out, 0xC6120001, 0xC6120002, seq & 0xFFFF, h, payload);
        assertTrue(TcpSegment.parse(out, TcpOptions.Codec.DEFAULT).isOk());
        return out;
    }
}
