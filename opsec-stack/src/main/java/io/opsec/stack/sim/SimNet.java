package io.opsec.stack.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.Link;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.link.Middlebox;
import io.opsec.stack.link.PcapTap;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.wire.Ipv4Address;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A simulated network: {@code n} hosts ({@link OpsecStack}s on a manual clock) joined by a switch,
 * driven on one thread in virtual time. Everything random derives from the seed: each host's ISN
 * secret and ephemeral-port randomness, and each link's impairments. The same seed and the same
 * calls replay the same run, packet for packet ({@link #traceDigest()}).
 *
 * <p><b>Topology.</b> Host {@code i} has address {@code 198.18.0.(i+1)} and one {@link MemoryLink}
 * to the switch. The uplink (host to switch) is perfect and carries the host's
 * {@linkplain Builder#middlebox middlebox}; the downlink (switch to host) carries the profile's
 * impairments. A packet therefore meets the profile exactly once.
 *
 * <p><b>Leaks.</b> Every buffer the stacks and links allocate comes from this network's own
 * unpooled direct allocator, whose byte count is exact: after {@link #close()},
 * {@link #leakedBytes()} must be 0. With {@link Builder#leakTracking(boolean)} the buffers are
 * also tracked by Netty's leak detector (slow at PARANOID; used to find where a leak was made).
 *
 * <p><b>The loop.</b> {@link #step()} advances virtual time to the earliest due event (a timer, a
 * packet arrival, a scheduled action), runs every stack at that instant, forwards what the hosts
 * sent, then steps the {@linkplain #add(SimApp) applications}. Not thread-safe; one thread.
 */
public final class SimNet implements AutoCloseable {
    /** TCP settings of simulated hosts; see {@link #defaultTcp()}. */
    private static final TcpConfig DEFAULT_TCP = TcpConfig.builder()
            .msl(Duration.ofSeconds(1))
            .maxRto(Duration.ofSeconds(2))
            .synRetries(20)
            .synAckRetries(20)
            .maxRetransmits(60)
            .userTimeout(Duration.ofSeconds(120))
            .finWait2Timeout(Duration.ofSeconds(10))
            .keepAlive(true)
            .keepAlive(Duration.ofSeconds(30), Duration.ofSeconds(5), 5)
            .build();
    /** Same-instant iterations after which the loop is declared stuck. */
    private static final int LIVELOCK_ITERATIONS = 1_000_000;

    private final long seed;
    private final Profile profile;
    private final Impairments down;
    private final ByteBufAllocator alloc;
    private final UnpooledByteBufAllocator counted;
    private final List<OpsecStack> stacks = new ArrayList<>();
    private final List<MemoryLink.Pair> ports = new ArrayList<>();
    private final List<PcapTap> taps = new ArrayList<>();
    private final Map<Integer, Integer> portOf = new HashMap<>();
    private final List<SimApp> apps = new ArrayList<>();
    private final PriorityQueue<Scheduled> scheduled = new PriorityQueue<>();
    private final MessageDigest trace;
    private long scheduledSeq;
    private long now;
    private long sameInstant;
    private long forwarded;
    private long unroutable;
    private boolean closed;

    private SimNet(Builder b) {
        this.seed = b.seed;
        this.profile = b.profile;
        this.counted = new UnpooledByteBufAllocator(true, !b.leakTracking);
        this.alloc = counted;
        try {
            this.trace = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        this.down = b.impairments != null ? b.impairments : profile.impairments();
        for (int i = 0; i < b.hosts; i++) {
            MemoryLink.Builder lb = MemoryLink.builder()
                    .seed(derive(seed, "link", i))
                    .aToB(Impairments.NONE)
                    .bToA(down);
            Middlebox mb = b.middleboxes.get(i);
            if (mb != null) {
                lb.middleboxAToB(mb);
            }
            MemoryLink.Pair pair = lb.build();
            ports.add(pair);
            int addr = address(i);
            portOf.put(addr, i);
            Link link = pair.a();
            if (b.pcapDir != null) {
                try {
                    Files.createDirectories(b.pcapDir);
                    PcapTap tap = PcapTap.toFile(link, b.pcapDir.resolve(
                            "sim-" + seed + "-" + profile.cliName() + "-host" + i + ".pcap"));
                    taps.add(tap);
                    link = tap;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            SplittableRandom secretRandom = new SplittableRandom(derive(seed, "isn", i));
            byte[] secret = new byte[32];
            secretRandom.nextBytes(secret);
            OpsecStack.Builder sb = OpsecStack.builder()
                    .name("host" + i)
                    .address(Ipv4Address.toInet(addr))
                    .link(link)
                    .manualClock()
                    .allocator(alloc)
                    .random(new SplittableRandom(derive(seed, "ports", i)))
                    .isnSecret(secret)
                    .tcp(b.tcp);
            OpsecMode mode = b.modes.get(i);
            if (mode != null) {
                sb.opsecMode(mode);
            }
            Consumer<OpsecStack.Builder> custom = b.customizers.get(i);
            if (custom != null) {
                custom.accept(sb);
            }
            stacks.add(sb.build());
        }
    }

    /** A network builder; every random choice of the run derives from {@code seed}. */
    public static Builder builder(long seed) {
        return new Builder(seed);
    }

    /**
     * The TCP settings simulated hosts use unless told otherwise: RFC defaults except MSL 1 s
     * (TIME-WAIT 2 s), maximum RTO 2 s, 20 SYN and SYN-ACK retries, 60 retransmissions, user
     * timeout 120 s, FIN-WAIT-2 timeout 10 s, and keepalive on (30 s idle, 5 probes 5 s apart),
     * so that a 30%-loss path does not time out by bad luck and every half-dead connection ends.
     */
    public static TcpConfig defaultTcp() {
        return DEFAULT_TCP;
    }

    /** A value derived from the seed for one purpose; the derivation is part of the replay contract. */
    public static long derive(long seed, String purpose, long index) {
        long h = seed * 0x9E3779B97F4A7C15L + purpose.hashCode() * 0xC2B2AE3D27D4EB4FL + index;
        return new SplittableRandom(h).nextLong();
    }

    /** The address of host {@code i}: 198.18.0.(i+1). */
    public static int address(int host) {
        return Ipv4Address.parse("198.18.0." + (host + 1));
    }

    /** A socket address on host {@code i}. */
    public InetSocketAddress socket(int host, int port) {
        return new InetSocketAddress(Ipv4Address.toInet(address(host)), port);
    }

    public long seed() {
        return seed;
    }

    public Profile profile() {
        return profile;
    }

    /** How many hosts. */
    public int hosts() {
        return stacks.size();
    }

    /** Host {@code i}'s stack. */
    public OpsecStack host(int i) {
        return stacks.get(i);
    }

    /** Virtual time, nanoseconds since the start of the run. */
    public long now() {
        return now;
    }

    /** Host {@code i}'s link to the switch (packets it sends): perfect, with its middlebox. */
    public MemoryLink.Direction uplink(int i) {
        return ports.get(i).aToB();
    }

    /** The switch's link to host {@code i} (packets it receives): the profile's impairments. */
    public MemoryLink.Direction downlink(int i) {
        return ports.get(i).bToA();
    }

    /** Adds an application, stepped after every network step until it reports it is finished. */
    public void add(SimApp app) {
        apps.add(Objects.requireNonNull(app));
    }

    /** Runs {@code action} once virtual time reaches {@code at}. */
    public void at(long at, Runnable action) {
        scheduled.add(new Scheduled(Math.max(at, now), scheduledSeq++, action));
    }

    /** Cuts every downlink from now on: all packets are lost. */
    public void cut() {
        for (int i = 0; i < ports.size(); i++) {
            downlink(i).impairments(downlink(i).impairments().toBuilder().loss(1).build());
        }
    }

    /** Restores every downlink to the impairments it was built with. */
    public void heal() {
        for (int i = 0; i < ports.size(); i++) {
            downlink(i).impairments(down);
        }
    }

    /**
     * Advances to the next event and runs it.
     *
     * @return false when nothing at all is scheduled any more (the network is idle)
     * @throws SimFailure when the loop no longer advances (a livelock)
     */
    public boolean step() {
        long next = nextEventAt();
        if (next == Long.MAX_VALUE) {
            return false;
        }
        if (next > now) {
            now = next;
            sameInstant = 0;
        } else if (++sameInstant > LIVELOCK_ITERATIONS) {
            throw new SimFailure("livelock: the loop ran " + LIVELOCK_ITERATIONS + " times at "
                    + SimFormat.time(now) + " without time advancing");
        }
        while (!scheduled.isEmpty() && scheduled.peek().at <= now) {
            scheduled.poll().action.run();
        }
        for (OpsecStack s : stacks) {
            s.runOnce(now);
        }
        forward();
        for (int i = 0; i < apps.size(); i++) {
            SimApp app = apps.get(i);
            app.step(this);
            if (app.isFinished()) {
                apps.remove(i--);
            }
        }
        return true;
    }

    /**
     * Steps until {@code done} holds or virtual time passes {@code deadline}.
     *
     * @return whether {@code done} held
     */
    public boolean runUntil(BooleanSupplier done, long deadline) {
        while (!done.getAsBoolean()) {
            long next = nextEventAt();
            if (next == Long.MAX_VALUE || next > deadline) {
                if (deadline != Long.MAX_VALUE) {
                    now = Math.max(now, deadline);
                }
                return false;
            }
            step();
        }
        return true;
    }

    /** Steps for {@code nanos} of virtual time. */
    public void runFor(long nanos) {
        long until = now + nanos;
        runUntil(() -> false, until);
    }

    private long nextEventAt() {
        long next = Long.MAX_VALUE;
        for (OpsecStack s : stacks) {
            long w = s.nextWakeAt();
            if (w == Long.MIN_VALUE) {
                return Long.MIN_VALUE;
            }
            next = Math.min(next, w);
        }
        for (MemoryLink.Pair p : ports) {
            next = Math.min(next, p.b().nextArrivalAt());
        }
        if (!scheduled.isEmpty()) {
            next = Math.min(next, scheduled.peek().at);
        }
        if (!apps.isEmpty()) {
            for (SimApp app : apps) {
                next = Math.min(next, app.wakeAt());
            }
        }
        return next;
    }

    /** The switch: moves every packet that reached it to the downlink of its destination. */
    private void forward() {
        for (int i = 0; i < ports.size(); i++) {
            Link sw = ports.get(i).b();
            ByteBuf p;
            while ((p = sw.receive(now)) != null) {
                Integer to = p.readableBytes() >= 20 ? portOf.get(p.getInt(p.readerIndex() + 16)) : null;
                if (to == null) {
                    unroutable++;
                    p.release();
                    continue;
                }
                record(i, p);
                forwarded++;
                ports.get(to).b().transmit(p, now);
            }
        }
    }

    private void record(int from, ByteBuf p) {
        trace.update((byte) from);
        for (int s = 56; s >= 0; s -= 8) {
            trace.update((byte) (now >>> s));
        }
        int n = Math.min(p.readableBytes(), 64);
        for (int k = 0; k < n; k++) {
            trace.update(p.getByte(p.readerIndex() + k));
        }
    }

    /** Packets the switch forwarded. */
    public long forwarded() {
        return forwarded;
    }

    /** Packets to no host (always 0 unless a stack sends to an unknown address). */
    public long unroutable() {
        return unroutable;
    }

    /**
     * A digest of every packet the switch forwarded (its sender, virtual time and first 64 bytes):
     * two runs with the same seed and calls have the same digest.
     */
    public byte[] traceDigest() {
        try {
            return ((MessageDigest) trace.clone()).digest();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Oversize packets dropped on any link (a stack bug if non-zero). */
    public long oversize() {
        long n = 0;
        for (MemoryLink.Pair p : ports) {
            n += p.aToB().counters().oversize() + p.bToA().counters().oversize();
        }
        return n;
    }

    /** Bytes of buffers allocated by this network and not yet released. */
    public long outstandingBytes() {
        return counted.metric().usedDirectMemory() + counted.metric().usedHeapMemory();
    }

    /** After {@link #close()}: bytes of buffers never released (must be 0). */
    public long leakedBytes() {
        if (!closed) {
            throw new IllegalStateException("leakedBytes() is only meaningful after close()");
        }
        return outstandingBytes();
    }

    /** The allocator every stack and link of this network uses. */
    public ByteBufAllocator allocator() {
        return alloc;
    }

    /** Closes every stack (resetting what is left), every link and capture. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (OpsecStack s : stacks) {
            s.close();
        }
        for (MemoryLink.Pair p : ports) {
            p.close();
        }
        for (PcapTap t : taps) {
            t.close();
        }
    }

    private record Scheduled(long at, long seq, Runnable action) implements Comparable<Scheduled> {
        @Override
        public int compareTo(Scheduled o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    /** Builds a {@link SimNet}. */
    public static final class Builder {
        private final long seed;
        private Profile profile = Profile.CLEAN;
        private Impairments impairments;
        private int hosts = 2;
        private TcpConfig tcp = DEFAULT_TCP;
        private final Map<Integer, OpsecMode> modes = new HashMap<>();
        private final Map<Integer, Middlebox> middleboxes = new HashMap<>();
        private final Map<Integer, Consumer<OpsecStack.Builder>> customizers = new HashMap<>();
        private Path pcapDir;
        private boolean leakTracking;

        private Builder(long seed) {
            this.seed = seed;
        }

        /** The path conditions (default {@link Profile#CLEAN}). */
        public Builder profile(Profile p) {
            this.profile = Objects.requireNonNull(p);
            return this;
        }

        /** Replaces the profile's impairments on every downlink (the profile still names the run). */
        public Builder impairments(Impairments i) {
            this.impairments = Objects.requireNonNull(i);
            return this;
        }

        /** How many hosts (default 2). */
        public Builder hosts(int n) {
            if (n < 1 || n > 250) {
                throw new IllegalArgumentException("hosts must be 1..250, not " + n);
            }
            this.hosts = n;
            return this;
        }

        /** TCP settings of every host (default {@link SimNet#defaultTcp()}). */
        public Builder tcp(TcpConfig c) {
            this.tcp = Objects.requireNonNull(c);
            return this;
        }

        /** Host {@code i}'s OPSEC mode (default: the stack's policy). */
        public Builder mode(int host, OpsecMode mode) {
            modes.put(host, mode);
            return this;
        }

        /** A middlebox on the packets host {@code i} sends. */
        public Builder middlebox(int host, Middlebox mb) {
            middleboxes.merge(host, mb, Middlebox::andThen);
            return this;
        }

        /** Any further setting of host {@code i}'s stack (security protocols, framing...). */
        public Builder stack(int host, Consumer<OpsecStack.Builder> custom) {
            customizers.merge(host, custom, Consumer::andThen);
            return this;
        }

        /** Writes one pcap per host into {@code dir} ({@code sim-SEED-PROFILE-hostI.pcap}). */
        public Builder pcap(Path dir) {
            this.pcapDir = dir;
            return this;
        }

        /** Also track every buffer with Netty's leak detector (slow; to find a leak's origin). */
        public Builder leakTracking(boolean on) {
            this.leakTracking = on;
            return this;
        }

        public SimNet build() {
            return new SimNet(this);
        }
    }
}
