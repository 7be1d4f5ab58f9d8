package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Laws every MemoryLink obeys, whatever the impairments, on virtual time. */
class MemoryLinkProperties {

    @Property(tries = 200)
    void everyPacketIsAccountedFor_andNothingArrivesEarly(
            @ForAll long seed,
            @ForAll @DoubleRange(max = 1) double loss,
            @ForAll @DoubleRange(max = 1) double duplicate,
            @ForAll @DoubleRange(max = 1) double reorder,
            @ForAll @DoubleRange(max = 1) double corrupt,
            @ForAll @LongRange(max = 50_000_000) long latency,
            @ForAll @LongRange(max = 100_000_000) long bandwidth,
            @ForAll @IntRange(min = 68, max = 1500) int mtu,
            @ForAll @IntRange(max = 60) int packets) {
        Impairments imp = Impairments.builder().loss(loss).duplicate(duplicate)
                .reorder(reorder, Duration.ofMillis(7)).corrupt(corrupt, 2)
                .latency(Duration.ofNanos(latency)).bandwidth(bandwidth).queueLimit(bandwidth > 0 ? 20_000 : 0)
                .build();
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(seed).mtu(mtu).aToB(imp).build()) {
            List<Long> sentAt = new ArrayList<>();
            for (int i = 0; i < packets; i++) {
                long now = i * 300_000L;
                sentAt.add(now);
                wire.a().transmit(MemoryLinkTest.packet(i, 40 + (i * 97) % 1500), now);
            }
            long last = -1;
            int delivered = 0;
            for (long t; (t = wire.b().nextArrivalAt()) != Long.MAX_VALUE; ) {
                assertTrue(t >= last, "deliveries in time order");
                last = t;
                ByteBuf p = wire.b().receive(t);
                int id = corrupt == 0 ? p.getInt(p.readerIndex()) : -1;
                if (id >= 0) {
                    assertTrue(t >= sentAt.get(id) + latency, "packet " + id + " arrived before its latency");
                    assertTrue(p.readableBytes() <= mtu);
                }
                p.release();
                delivered++;
            }
            LinkCounters c = wire.aToB().counters();
            assertEquals(packets, c.sent());
            assertEquals(delivered, c.delivered());
            assertEquals(0, c.inFlight(), c.toString());
            assertEquals(c.sent() + c.duplicated(), c.delivered() + c.dropped(), c.toString());
        }
    }

    @Property(tries = 50)
    void theSameSeedReplaysExactly(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int packets) {
        Impairments hostile = Impairments.builder().loss(0.1).duplicate(0.05).corrupt(0.05)
                .reorder(0.1, Duration.ofMillis(3)).latency(Duration.ofMillis(1)).bandwidth(5_000_000).build();
        assertEquals(trace(seed, packets, hostile), trace(seed, packets, hostile));
    }

    private static List<String> trace(long seed, int packets, Impairments imp) {
        List<String> out = new ArrayList<>();
        try (MemoryLink.Pair wire = MemoryLink.builder().seed(seed).impairments(imp).build()) {
            for (int i = 0; i < packets; i++) {
                wire.a().transmit(MemoryLinkTest.packet(i, 100 + i), i * 250_000L);
                wire.b().transmit(MemoryLinkTest.packet(-i, 60), i * 250_000L);
            }
            for (Link end : List.of(wire.a(), wire.b())) {
                for (long t; (t = end.nextArrivalAt()) != Long.MAX_VALUE; ) {
                    ByteBuf p = end.receive(t);
                    out.add(t + " " + ByteBufUtil.hexDump(p));
                    p.release();
                }
            }
        }
        return out;
    }
}
