package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An in-memory wire with two ends, {@link Pair#a()} and {@link Pair#b()}: what one end transmits
 * the other receives. Each direction has its own seeded {@link Impairments}, an optional
 * {@link Middlebox} and its own {@link LinkCounters}.
 *
 * <pre>{@code
 * MemoryLink.Pair wire = MemoryLink.pair();                 // a perfect wire
 * MemoryLink.Pair lossy = MemoryLink.builder()
 *         .seed(42)
 *         .impairments(Impairments.builder().loss(0.01).latency(Duration.ofMillis(20)).build())
 *         .middleboxAToB(Middleboxes.stripOption(253, Middleboxes.syn()))
 *         .build();
 * }</pre>
 *
 * <p><b>Time.</b> Both ends must be driven on one clock: a packet transmitted at {@code now} on
 * one end becomes receivable on the other at {@code now} plus its delays, on the same scale. In
 * the runtime that is {@link System#nanoTime()}; in the simulator the virtual clock.
 *
 * <p><b>Determinism.</b> Each direction draws from its own {@link SplittableRandom} derived from
 * the seed, a fixed number of draws per packet that passes the MTU check, so the same seed and
 * the same sequence of transmits with the same {@code now} values give the same deliveries, and
 * changing one impairment does not reshuffle the others' choices.
 *
 * <p><b>Threads.</b> Each direction is guarded by its own lock, so one thread may drive each end
 * (the runtime's two event loops) or one thread both (the simulator). The receiving end's
 * {@link Link#onArrival} callback runs on the transmitting thread, outside the lock, every time a
 * packet is queued for it, even one due later (so a sleeping loop can shorten its sleep).
 *
 * <p><b>Buffers.</b> The link owns every packet between {@code transmit} and {@code receive} and
 * releases each one it drops; closing an end releases what is queued for it.
 */
public final class MemoryLink {

    private static final Logger LOG = LoggerFactory.getLogger(MemoryLink.class);

    /** The default IP MTU, Ethernet's. */
    public static final int DEFAULT_MTU = 1500;

    /** Separates the two directions' random streams when derived from one seed. */
    private static final long B_TO_A_SALT = 0x9E3779B97F4A7C15L;

    private MemoryLink() {
    }

    /** A perfect wire with the default MTU: no loss, no delay, infinite bandwidth. */
    public static Pair pair() {
        return builder().build();
    }

    /** A builder for an impaired wire. */
    public static Builder builder() {
        return new Builder();
    }

    /** The two ends of one wire, and its two directions for counters and live reconfiguration. */
    public static final class Pair implements AutoCloseable {
        private final End a;
        private final End b;
        private final Direction aToB;
        private final Direction bToA;

        private Pair(End a, End b, Direction aToB, Direction bToA) {
            this.a = a;
            this.b = b;
            this.aToB = aToB;
            this.bToA = bToA;
        }

        /** One end: it transmits towards {@link #b()} and receives from it. */
        public Link a() {
            return a;
        }

        /** The other end. */
        public Link b() {
            return b;
        }

        /** The direction from {@link #a()} to {@link #b()}. */
        public Direction aToB() {
            return aToB;
        }

        /** The direction from {@link #b()} to {@link #a()}. */
        public Direction bToA() {
            return bToA;
        }

        /** Closes both ends, releasing everything in flight. */
        @Override
        public void close() {
            a.close();
            b.close();
        }
    }

    /** Builds a {@link Pair}. Unset values: seed 0, MTU 1500, {@link Impairments#NONE}, no middlebox. */
    public static final class Builder {
        private long seed;
        private int mtu = DEFAULT_MTU;
        private Impairments aToB = Impairments.NONE;
        private Impairments bToA = Impairments.NONE;
        private Middlebox middleboxAToB;
        private Middlebox middleboxBToA;

        private Builder() {
        }

        /** The seed of every random choice on this wire. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The IP MTU of both ends; larger packets are dropped and counted as oversize. */
        public Builder mtu(int mtu) {
            if (mtu < 68 || mtu > 65535) {
                // RFC 791: every IPv4 module must forward a 68-byte datagram.
                throw new IllegalArgumentException("MTU " + mtu + " is not in 68..65535");
            }
            this.mtu = mtu;
            return this;
        }

        /** The same impairments both ways. */
        public Builder impairments(Impairments both) {
            return aToB(both).bToA(both);
        }

        /** Impairments from a to b. */
        public Builder aToB(Impairments impairments) {
            aToB = Objects.requireNonNull(impairments);
            return this;
        }

        /** Impairments from b to a. */
        public Builder bToA(Impairments impairments) {
            bToA = Objects.requireNonNull(impairments);
            return this;
        }

        /** A middlebox on packets from a to b. */
        public Builder middleboxAToB(Middlebox middlebox) {
            middleboxAToB = middlebox;
            return this;
        }

        /** A middlebox on packets from b to a. */
        public Builder middleboxBToA(Middlebox middlebox) {
            middleboxBToA = middlebox;
            return this;
        }

        public Pair build() {
            Direction ab = new Direction("a->b", mtu, aToB, middleboxAToB, new SplittableRandom(seed));
            Direction ba = new Direction("b->a", mtu, bToA, middleboxBToA, new SplittableRandom(seed ^ B_TO_A_SALT));
            End a = new End("a", ab, ba);
            End b = new End("b", ba, ab);
            return new Pair(a, b, ab, ba);
        }
    }

    /**
     * One direction of the wire: its impairments, middlebox, bandwidth queue, the packets in
     * flight and its counters. Impairments and middlebox may be changed while packets flow (to cut
     * a link and heal it, say); packets already in flight keep their delivery times.
     */
    public static final class Direction {
        private final String name;
        private final int mtu;
        private final SplittableRandom random;
        private final PriorityQueue<InFlight> queue = new PriorityQueue<>();

        // Guarded by this.
        private Impairments impairments;
        private Middlebox middlebox;
        private long busyUntil = Long.MIN_VALUE;
        private long order;
        private boolean senderClosed;
        private boolean receiverClosed;
        private long sent;
        private long delivered;
        private long lost;
        private long duplicated;
        private long corrupted;
        private long middleboxDropped;
        private long oversize;
        private long queueOverflow;
        private long discarded;

        private volatile Runnable wakeup;

        private Direction(String name, int mtu, Impairments impairments, Middlebox middlebox, SplittableRandom random) {
            this.name = name;
            this.mtu = mtu;
            this.impairments = impairments;
            this.middlebox = middlebox;
            this.random = random;
        }

        /** "a->b" or "b->a". */
        public String name() {
            return name;
        }

        /** A consistent snapshot of this direction's counters. */
        public synchronized LinkCounters counters() {
            return new LinkCounters(sent, delivered, lost, duplicated, corrupted, middleboxDropped, oversize,
                    queueOverflow, discarded);
        }

        public synchronized Impairments impairments() {
            return impairments;
        }

        /** Replaces the impairments for packets transmitted from now on. */
        public synchronized void impairments(Impairments impairments) {
            this.impairments = Objects.requireNonNull(impairments);
        }

        /** Replaces the middlebox (null for none) for packets transmitted from now on. */
        public synchronized void middlebox(Middlebox middlebox) {
            this.middlebox = middlebox;
        }

        @Override
        public String toString() {
            return name + " " + counters();
        }

        void transmit(ByteBuf packet, long now) {
            boolean queued;
            synchronized (this) {
                queued = transmitLocked(packet, now);
            }
            Runnable w = wakeup;
            if (queued && w != null) {
                w.run();
            }
        }

        /** Returns whether anything was queued for the receiver. */
        private boolean transmitLocked(ByteBuf packet, long now) {
            if (senderClosed || receiverClosed) {
                discarded++;
                drop(packet, "an end is closed");
                return false;
            }
            sent++;
            int length = packet.readableBytes();
            if (length > mtu) {
                // DEVIATION from a router (which would send ICMP "fragmentation needed"): the
                // stack never fragments and must not exceed its own MTU, so this is a bug to count.
                oversize++;
                drop(packet, length + " bytes exceed the MTU of " + mtu);
                return false;
            }
            Impairments imp = impairments;
            // A fixed number of draws per packet keeps each impairment's choices independent.
            double uLoss = random.nextDouble();
            double uCorrupt = random.nextDouble();
            long corruptSeed = random.nextLong();
            double uReorder = random.nextDouble();
            long reorderDelay = imp.reorderDelayNanos() == 0 ? random.nextLong() : random.nextLong(imp.reorderDelayNanos() + 1);
            double uDuplicate = random.nextDouble();
            double uDupReorder = random.nextDouble();
            long dupReorderDelay = imp.reorderDelayNanos() == 0 ? random.nextLong() : random.nextLong(imp.reorderDelayNanos() + 1);

            Middlebox mb = middlebox;
            if (mb != null) {
                packet = mb.process(packet, now);
                if (packet == null) {
                    middleboxDropped++;
                    LOG.debug("{}: middlebox dropped a packet", name);
                    return false;
                }
                length = packet.readableBytes();
            }

            long departure = now;
            if (imp.bitsPerSecond() > 0) {
                long start = Math.max(now, busyUntil);
                if (imp.queueLimitBytes() > 0) {
                    // In double: a long product overflows once about 1 GiB is queued.
                    long backlogBytes = (long) ((double) (start - now) * imp.bitsPerSecond() / 8e9);
                    if (backlogBytes + length > imp.queueLimitBytes()) {
                        queueOverflow++;
                        drop(packet, "queue full (" + backlogBytes + " bytes waiting)");
                        return false;
                    }
                }
                busyUntil = start + imp.serialisationNanos(length);
                departure = busyUntil;
            }
            if (uLoss < imp.loss()) {
                lost++;
                drop(packet, "lost");
                return false;
            }
            if (uCorrupt < imp.corrupt()) {
                packet = flipBits(packet, imp.corruptBits(), new SplittableRandom(corruptSeed));
                corrupted++;
            }
            long arrival = departure + imp.latencyNanos();
            ByteBuf copy = uDuplicate < imp.duplicate() ? packet.copy() : null;
            enqueue(packet, arrival + (uReorder < imp.reorder() ? reorderDelay : 0));
            if (copy != null) {
                duplicated++;
                enqueue(copy, arrival + (uDupReorder < imp.reorder() ? dupReorderDelay : 0));
            }
            return true;
        }

        private void enqueue(ByteBuf packet, long at) {
            queue.add(new InFlight(at, order++, packet));
        }

        private void drop(ByteBuf packet, String why) {
            LOG.debug("{}: dropped a {}-byte packet: {}", name, packet.readableBytes(), why);
            packet.release();
        }

        /**
         * Returns a private copy of {@code packet} with {@code bits} distinct random bits flipped,
         * releasing the original (which may be shared or read-only).
         */
        private static ByteBuf flipBits(ByteBuf packet, int bits, SplittableRandom r) {
            int length = packet.readableBytes();
            ByteBuf copy = packet.copy();
            packet.release();
            int total = length * 8;
            int n = Math.min(bits, total);
            java.util.BitSet flipped = new java.util.BitSet(total);
            while (flipped.cardinality() < n) {
                int bit = r.nextInt(total);
                if (!flipped.get(bit)) {
                    flipped.set(bit);
                    int at = copy.readerIndex() + bit / 8;
                    copy.setByte(at, copy.getByte(at) ^ (0x80 >>> (bit % 8)));
                }
            }
            return copy;
        }

        synchronized ByteBuf poll(long now) {
            InFlight head = queue.peek();
            if (head == null || head.at > now) {
                return null;
            }
            queue.poll();
            delivered++;
            return head.packet;
        }

        synchronized long nextArrivalAt() {
            InFlight head = queue.peek();
            return head == null ? Long.MAX_VALUE : head.at;
        }

        synchronized void closeSender() {
            senderClosed = true;
        }

        synchronized void closeReceiver() {
            receiverClosed = true;
            for (InFlight f; (f = queue.poll()) != null; ) {
                discarded++;
                f.packet.release();
            }
        }
    }

    /** A packet due at {@code at}; equal times keep their transmit order. */
    private record InFlight(long at, long order, ByteBuf packet) implements Comparable<InFlight> {
        @Override
        public int compareTo(InFlight o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(order, o.order);
        }
    }

    /** One end: transmits on one direction, receives from the other. */
    private static final class End implements Link {
        private final String name;
        private final Direction out;
        private final Direction in;

        End(String name, Direction out, Direction in) {
            this.name = name;
            this.out = out;
            this.in = in;
        }

        @Override
        public int mtu() {
            return out.mtu;
        }

        /** {@inheritDoc} A packet larger than the MTU is dropped, released and counted as oversize. */
        @Override
        public void transmit(ByteBuf packet, long nowNanos) {
            out.transmit(packet, nowNanos);
        }

        @Override
        public ByteBuf receive(long nowNanos) {
            return in.poll(nowNanos);
        }

        @Override
        public long nextArrivalAt() {
            return in.nextArrivalAt();
        }

        @Override
        public void onArrival(Runnable wakeup) {
            in.wakeup = wakeup;
        }

        @Override
        public void close() {
            out.closeSender();
            in.closeReceiver();
        }

        @Override
        public String toString() {
            return "MemoryLink end " + name;
        }
    }
}
