package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Link} that carries one raw IPv4 packet per UDP datagram between a local UDP address
 * and a peer UDP address: a tunnel between two processes, or to a kernel TUN device through
 * {@code socat}:
 *
 * <pre>{@code
 * UdpTunnelLink link = UdpTunnelLink.builder()
 *         .local(new InetSocketAddress("127.0.0.1", 7001))
 *         .peer(new InetSocketAddress("127.0.0.1", 7002))
 *         .build();
 * // then, as root:
 * // socat TUN:198.18.0.1/24,iff-no-pi,tun-type=tun,iff-up UDP-DATAGRAM:127.0.0.1:7001,bind=127.0.0.1:7002
 * }</pre>
 *
 * <p>A daemon reader thread receives datagrams, keeps those from the peer address that fit the
 * MTU, copies each into a buffer from the allocator, queues it (bounded: when the queue is full
 * the datagram is dropped and counted) and runs the {@link #onArrival} wakeup. Everything dropped
 * is counted in {@link #counters()} and logged at debug.
 *
 * <p><b>Time.</b> A real socket cannot deliver from the future, so {@link #receive(long)} hands
 * out whatever has arrived, whatever {@code now} says. Arrivals are stamped with the link's clock
 * ({@link System#nanoTime()} unless the builder is given another; it must be the clock the
 * runtime passes as {@code now}) so that {@link #nextArrivalAt()} is comparable with it.
 *
 * <p><b>Closing</b> closes the socket, stops the reader thread and releases every queued
 * packet; later transmits are dropped, released and counted as discarded.
 */
public final class UdpTunnelLink implements Link {

    private static final Logger LOG = LoggerFactory.getLogger(UdpTunnelLink.class);

    /** The default IP MTU. */
    public static final int DEFAULT_MTU = 1500;
    /** The default number of received packets held for {@link #receive(long)}. */
    public static final int DEFAULT_QUEUE_CAPACITY = 1024;
    /** The largest UDP payload over IPv4. */
    private static final int MAX_DATAGRAM = 65507;

    /**
     * What happened to the datagrams.
     *
     * @param sent         packets sent to the peer
     * @param received     datagrams queued for the stack
     * @param oversize     packets dropped for exceeding the MTU (outbound, or inbound datagrams)
     * @param queueDropped datagrams dropped because the inbound queue was full
     * @param foreign      datagrams dropped because they did not come from the peer address
     * @param sendErrors   packets the socket failed to send
     * @param discarded    packets dropped because the link was closed (sent after, or queued at, close)
     */
    public record Counters(long sent, long received, long oversize, long queueDropped, long foreign,
                           long sendErrors, long discarded) {
    }

    private final DatagramChannel channel;
    private final InetSocketAddress local;
    private final InetSocketAddress peer;
    private final int mtu;
    private final ByteBufAllocator alloc;
    private final LongSupplier clock;
    private final ArrayBlockingQueue<Arrival> queue;
    private final Thread reader;
    private volatile Runnable wakeup;
    private volatile boolean closed;

    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong oversize = new AtomicLong();
    private final AtomicLong queueDropped = new AtomicLong();
    private final AtomicLong foreign = new AtomicLong();
    private final AtomicLong sendErrors = new AtomicLong();
    private final AtomicLong discarded = new AtomicLong();

    private record Arrival(long at, ByteBuf packet) {
    }

    private UdpTunnelLink(Builder b) throws IOException {
        this.peer = b.peer;
        this.mtu = b.mtu;
        this.alloc = b.alloc;
        this.clock = b.clock;
        this.queue = new ArrayBlockingQueue<>(b.queueCapacity);
        this.channel = DatagramChannel.open(b.local.getAddress() instanceof java.net.Inet6Address
                ? java.net.StandardProtocolFamily.INET6 : java.net.StandardProtocolFamily.INET);
        try {
            channel.setOption(StandardSocketOptions.SO_RCVBUF, 1 << 20);
            channel.bind(b.local);
            this.local = (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        this.reader = new Thread(this::readLoop, "opsec-udp-tunnel-" + local.getPort());
        reader.setDaemon(true);
        reader.start();
    }

    /** A tunnel with the default MTU and queue between {@code local} and {@code peer}. */
    public static UdpTunnelLink open(InetSocketAddress local, InetSocketAddress peer) throws IOException {
        return builder().local(local).peer(peer).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link UdpTunnelLink}; {@link #local} and {@link #peer} are required. */
    public static final class Builder {
        private InetSocketAddress local;
        private InetSocketAddress peer;
        private int mtu = DEFAULT_MTU;
        private int queueCapacity = DEFAULT_QUEUE_CAPACITY;
        private ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
        private LongSupplier clock = System::nanoTime;

        private Builder() {
        }

        /** The UDP address to bind (port 0 for an ephemeral one, see {@link #localAddress()}). */
        public Builder local(InetSocketAddress local) {
            this.local = local;
            return this;
        }

        /** The UDP address packets are sent to, and the only one accepted from. */
        public Builder peer(InetSocketAddress peer) {
            this.peer = peer;
            return this;
        }

        /** The IP MTU (default 1500); at most 65507, the largest UDP payload. */
        public Builder mtu(int mtu) {
            if (mtu < 68 || mtu > MAX_DATAGRAM) {
                throw new IllegalArgumentException("MTU " + mtu + " is not in 68.." + MAX_DATAGRAM);
            }
            this.mtu = mtu;
            return this;
        }

        /** How many received packets may wait for {@code receive} before more are dropped. */
        public Builder queueCapacity(int packets) {
            if (packets < 1) {
                throw new IllegalArgumentException("queue capacity " + packets);
            }
            this.queueCapacity = packets;
            return this;
        }

        /** Where received packets' buffers come from (default {@link ByteBufAllocator#DEFAULT}). */
        public Builder allocator(ByteBufAllocator alloc) {
            this.alloc = Objects.requireNonNull(alloc);
            return this;
        }

        /** The clock arrivals are stamped with; the runtime's {@code now} clock (default nanoTime). */
        public Builder clock(LongSupplier clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** Binds the socket and starts the reader thread. */
        public UdpTunnelLink build() throws IOException {
            Objects.requireNonNull(local, "local address");
            Objects.requireNonNull(peer, "peer address");
            if (peer.isUnresolved()) {
                throw new IllegalArgumentException("unresolved peer address " + peer);
            }
            return new UdpTunnelLink(this);
        }
    }

    /** The bound local address (with the real port when bound to port 0). */
    public InetSocketAddress localAddress() {
        return local;
    }

    public InetSocketAddress peerAddress() {
        return peer;
    }

    public Counters counters() {
        return new Counters(sent.get(), received.get(), oversize.get(), queueDropped.get(), foreign.get(),
                sendErrors.get(), discarded.get());
    }

    @Override
    public int mtu() {
        return mtu;
    }

    /**
     * {@inheritDoc} The packet is sent as one datagram on the caller's thread; a packet larger
     * than the MTU, or one the socket fails to send, is dropped, released and counted.
     */
    @Override
    public void transmit(ByteBuf packet, long nowNanos) {
        try {
            if (closed) {
                discarded.incrementAndGet();
                LOG.debug("udp tunnel {}: closed, dropped an outgoing packet", local);
                return;
            }
            int length = packet.readableBytes();
            if (length > mtu) {
                oversize.incrementAndGet();
                LOG.debug("udp tunnel {}: dropped an outgoing {}-byte packet over the MTU of {}", local, length, mtu);
                return;
            }
            channel.send(packet.nioBuffer(), peer);
            sent.incrementAndGet();
        } catch (IOException e) {
            if (closed) {
                discarded.incrementAndGet();
            } else {
                sendErrors.incrementAndGet();
                LOG.debug("udp tunnel {}: send to {} failed: {}", local, peer, e.toString());
            }
        } finally {
            packet.release();
        }
    }

    /** {@inheritDoc} Returns the oldest queued packet regardless of {@code nowNanos}. */
    @Override
    public ByteBuf receive(long nowNanos) {
        Arrival a = queue.poll();
        return a == null ? null : a.packet;
    }

    /** {@inheritDoc} The arrival time of the oldest queued packet on the link's clock. */
    @Override
    public long nextArrivalAt() {
        Arrival a = queue.peek();
        return a == null ? Long.MAX_VALUE : a.at;
    }

    /** {@inheritDoc} Runs on the reader thread after each queued packet. */
    @Override
    public void onArrival(Runnable wakeup) {
        this.wakeup = wakeup;
    }

    /** Closes the socket, waits (bounded) for the reader thread, releases queued packets. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close(); // wakes the reader blocked in receive
        } catch (IOException e) {
            LOG.debug("udp tunnel {}: close: {}", local, e.toString());
        }
        if (Thread.currentThread() != reader) {
            try {
                reader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        drainQueue();
    }

    /** Whether the reader thread is still running (false soon after close). */
    boolean readerAlive() {
        return reader.isAlive();
    }

    private void drainQueue() {
        for (Arrival a; (a = queue.poll()) != null; ) {
            discarded.incrementAndGet();
            a.packet.release();
        }
    }

    private void readLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(MAX_DATAGRAM + 1);
        while (!closed) {
            SocketAddress from;
            buf.clear();
            try {
                from = channel.receive(buf);
            } catch (ClosedChannelException e) {
                break;
            } catch (IOException e) {
                if (closed || !channel.isOpen()) {
                    break;
                }
                LOG.debug("udp tunnel {}: receive failed: {}", local, e.toString());
                continue;
            }
            buf.flip();
            accept(from, buf);
        }
        // A packet queued while close() was draining would otherwise be lost un-released.
        drainQueue();
    }

    private void accept(SocketAddress from, ByteBuffer data) {
        if (!peer.equals(from)) {
            foreign.incrementAndGet();
            LOG.debug("udp tunnel {}: dropped a datagram from {}, not the peer {}", local, from, peer);
            return;
        }
        int length = data.remaining();
        if (length > mtu) {
            oversize.incrementAndGet();
            LOG.debug("udp tunnel {}: dropped an incoming {}-byte datagram over the MTU of {}", local, length, mtu);
            return;
        }
        ByteBuf packet = alloc.buffer(length);
        packet.writeBytes(data);
        if (!queue.offer(new Arrival(clock.getAsLong(), packet))) {
            packet.release();
            queueDropped.incrementAndGet();
            LOG.debug("udp tunnel {}: inbound queue full, dropped a {}-byte packet", local, length);
            return;
        }
        received.incrementAndGet();
        if (closed) {
            drainQueue();
            return;
        }
        Runnable w = wakeup;
        if (w != null) {
            w.run();
        }
    }

    @Override
    public String toString() {
        return "UdpTunnelLink(" + local + " <-> " + peer + ", mtu " + mtu + ")";
    }
}
