package io.opsec.examples.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A UDP relay on loopback that applies an {@link Impairment} to every datagram, in both
 * directions: the userspace stand-in for {@code tc netem}, which this CI kernel lacks
 * ({@code CONFIG_NET_SCH_NETEM} is not set and there are no loadable modules).
 *
 * <p>Each datagram is one raw IPv4 packet (the {@code UdpTunnelLink} / socat {@code TUN}
 * framing), so the relay sits on the wire between two tunnel ends: end A sends to
 * {@link #portA()} and receives from it; end B likewise with {@link #portB()}. Every packet is
 * written to the tap (when one is given) as it arrived from its sender, before any impairment:
 * that capture is "what each side put on the wire", so a bad checksum in it is the sender's
 * fault, never the relay's corruption.
 *
 * <p>Randomness is seeded per direction, so a profile makes the same decisions for the same
 * sequence of packets (timing on a real kernel still varies run to run).
 */
final class ImpairedRelay implements AutoCloseable {
    private static final int MAX_DATAGRAM = 65535;
    private static final int SOCKET_BUFFER = 4 << 20;

    private final Impairment impairment;
    private final PcapFile tap;
    private final Direction aToB;
    private final Direction bToA;
    private final DatagramSocket socketA;
    private final DatagramSocket socketB;
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean closed;

    /** Counters for one direction; read them after traffic stops. */
    static final class Stats {
        final AtomicLong received = new AtomicLong();
        final AtomicLong lost = new AtomicLong();
        final AtomicLong queueDropped = new AtomicLong();
        final AtomicLong duplicated = new AtomicLong();
        final AtomicLong corrupted = new AtomicLong();
        final AtomicLong reordered = new AtomicLong();
        final AtomicLong sent = new AtomicLong();

        @Override
        public String toString() {
            return "received " + received + ", lost " + lost + ", queue-dropped " + queueDropped + ", duplicated "
                    + duplicated + ", corrupted " + corrupted + ", sent-early " + reordered + ", sent " + sent;
        }
    }

    /**
     * Starts a relay between two UDP ends on loopback.
     *
     * @param peerA where end A listens (packets from B go there)
     * @param peerB where end B listens (packets from A go there)
     * @param tapPath pcap of everything either end sent, or {@code null}
     */
    static ImpairedRelay start(Impairment impairment, long seed, InetSocketAddress peerA, InetSocketAddress peerB,
                               Path tapPath) {
        return new ImpairedRelay(impairment, seed, peerA, peerB, tapPath);
    }

    private ImpairedRelay(Impairment impairment, long seed, InetSocketAddress peerA, InetSocketAddress peerB,
                          Path tapPath) {
        this.impairment = impairment;
        try {
            InetAddress lo = InetAddress.getLoopbackAddress();
            socketA = bind(lo);
            socketB = bind(lo);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the relay on loopback", e);
        }
        this.tap = tapPath == null ? null : new PcapFile(tapPath);
        SplittableRandom root = new SplittableRandom(seed);
        aToB = new Direction("a->b", socketA, socketB, peerB, root.split());
        bToA = new Direction("b->a", socketB, socketA, peerA, root.split());
        aToB.start();
        bToA.start();
    }

    private static DatagramSocket bind(InetAddress lo) throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(lo, 0));
        s.setReceiveBufferSize(SOCKET_BUFFER);
        s.setSendBufferSize(SOCKET_BUFFER);
        return s;
    }

    /** The loopback port end A must send to. */
    int portA() {
        return socketA.getLocalPort();
    }

    /** The loopback port end B must send to. */
    int portB() {
        return socketB.getLocalPort();
    }

    Impairment impairment() {
        return impairment;
    }

    Stats statsAtoB() {
        return aToB.stats;
    }

    Stats statsBtoA() {
        return bToA.stats;
    }

    @Override
    public void close() {
        closed = true;
        socketA.close();
        socketB.close();
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (tap != null) {
            tap.close();
        }
    }

    private static final class Pending implements Delayed {
        private static final AtomicLong ORDER = new AtomicLong();
        final long dueNanos;
        final long order = ORDER.incrementAndGet();
        final byte[] packet;

        Pending(long dueNanos, byte[] packet) {
            this.dueNanos = dueNanos;
            this.packet = packet;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            Pending p = (Pending) o;
            int c = Long.compare(dueNanos, p.dueNanos);
            return c != 0 ? c : Long.compare(order, p.order);
        }
    }

    /** One direction: a receiving thread and, when there is a delay, a delay line with its own sender. */
    private final class Direction {
        final String name;
        final DatagramSocket in;
        final DatagramSocket out;
        final InetSocketAddress to;
        final SplittableRandom random;
        final Stats stats = new Stats();
        final DelayQueue<Pending> line = new DelayQueue<>();

        Direction(String name, DatagramSocket in, DatagramSocket out, InetSocketAddress to, SplittableRandom random) {
            this.name = name;
            this.in = in;
            this.out = out;
            this.to = to;
            this.random = random;
        }

        void start() {
            Thread rx = new Thread(this::receiveLoop, "relay-" + name + "-rx");
            rx.setDaemon(true);
            threads.add(rx);
            rx.start();
            if (impairment.delayMs() > 0) {
                Thread tx = new Thread(this::delayLoop, "relay-" + name + "-delay");
                tx.setDaemon(true);
                threads.add(tx);
                tx.start();
            }
        }

        private void receiveLoop() {
            byte[] buf = new byte[MAX_DATAGRAM];
            DatagramPacket dp = new DatagramPacket(buf, buf.length);
            while (!closed) {
                try {
                    dp.setLength(buf.length);
                    in.receive(dp);
                } catch (SocketException e) {
                    return; // closed
                } catch (IOException e) {
                    if (closed) {
                        return;
                    }
                    continue;
                }
                stats.received.incrementAndGet();
                if (tap != null) {
                    tap.write(buf, 0, dp.getLength());
                }
                byte[] packet = java.util.Arrays.copyOf(buf, dp.getLength());
                impair(packet);
            }
        }

        /** tc-netem(8) order: loss, then duplication (the copy is not corrupted), corruption, delay or reorder. */
        private void impair(byte[] packet) {
            if (impairment.loss() > 0 && random.nextDouble() < impairment.loss()) {
                stats.lost.incrementAndGet();
                return;
            }
            if (impairment.duplicate() > 0 && random.nextDouble() < impairment.duplicate()) {
                stats.duplicated.incrementAndGet();
                schedule(packet.clone());
            }
            if (impairment.corrupt() > 0 && random.nextDouble() < impairment.corrupt() && packet.length > 0) {
                stats.corrupted.incrementAndGet();
                int bit = random.nextInt(packet.length * 8);
                packet[bit >>> 3] ^= (byte) (1 << (bit & 7));
            }
            schedule(packet);
        }

        private void schedule(byte[] packet) {
            if (impairment.delayMs() == 0) {
                send(packet);
                return;
            }
            if (impairment.reorder() > 0 && random.nextDouble() < impairment.reorder()) {
                stats.reordered.incrementAndGet();
                send(packet);
                return;
            }
            if (line.size() >= Impairment.QUEUE_LIMIT) {
                stats.queueDropped.incrementAndGet();
                return;
            }
            long delayNanos = TimeUnit.MILLISECONDS.toNanos(impairment.delayMs());
            if (impairment.jitterMs() > 0) {
                long j = TimeUnit.MILLISECONDS.toNanos(impairment.jitterMs());
                delayNanos += random.nextLong(-j, j + 1);
            }
            line.add(new Pending(System.nanoTime() + delayNanos, packet));
        }

        private void delayLoop() {
            while (!closed) {
                Pending p;
                try {
                    p = line.poll(200, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                if (p != null) {
                    send(p.packet);
                }
            }
        }

        private void send(byte[] packet) {
            try {
                out.send(new DatagramPacket(packet, packet.length, to));
                stats.sent.incrementAndGet();
            } catch (IOException e) {
                // A closed socket at shutdown, or the far end not yet listening (ICMP port unreachable
                // surfaces as an exception on a later send): a lost packet, as on a real wire.
            }
        }
    }
}
