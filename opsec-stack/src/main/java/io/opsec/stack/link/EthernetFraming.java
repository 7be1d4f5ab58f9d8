package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Link} decorator that carries the stack's IPv4 packets in Ethernet II frames over an
 * inner link that moves whole frames: for instance a {@link UdpTunnelLink} to QEMU's
 * {@code -netdev socket,udp=...} backend, which puts one Ethernet frame in each datagram.
 *
 * <pre>{@code
 * Link frames = UdpTunnelLink.builder().local(a).peer(b).mtu(1500 + EthernetFraming.HEADER_LENGTH).build();
 * Link link = EthernetFraming.builder(frames)
 *         .local(MacAddress.parse("02:00:00:00:00:02"))
 *         .peer(MacAddress.parse("02:00:00:00:00:01"))
 *         .build();                                   // link.mtu() == 1500
 * }</pre>
 *
 * <p>Outgoing packets get a 14-byte header (destination {@code peer}, source {@code local},
 * EtherType 0x0800) and go to the inner link. There is no ARP: the peer's address is configured,
 * and the other side must know ours the same way (a static neighbour entry, {@code ip neigh
 * replace ADDR lladdr MAC nud permanent}). Incoming frames are kept only when they carry IPv4
 * (EtherType 0x0800) and are addressed to {@code local} or to broadcast; the rest (ARP, IPv6, LLDP,
 * frames a learning bridge flooded to every port, runts) are released and counted. The packet
 * handed to the stack is the frame with its header skipped; Ethernet's minimum-size padding, if
 * any, stays past the IPv4 total length, where the IPv4 parser ignores it.
 */
public final class EthernetFraming extends ForwardingLink {

    private static final Logger LOG = LoggerFactory.getLogger(EthernetFraming.class);

    /** Destination, source, EtherType. */
    public static final int HEADER_LENGTH = 14;
    /** EtherType of IPv4 (RFC 894). */
    public static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int DESTINATION = 0;
    private static final int ETHERTYPE = 12;

    /**
     * What happened to the frames.
     *
     * @param sent     frames handed to the inner link
     * @param received IPv4 packets handed to the stack
     * @param notIpv4  frames dropped for another EtherType (ARP, IPv6, ...)
     * @param notForUs frames dropped for a destination that is neither ours nor broadcast
     * @param runts    frames dropped for being shorter than the header
     */
    public record Counters(long sent, long received, long notIpv4, long notForUs, long runts) {
    }

    private final MacAddress local;
    private final MacAddress peer;
    private final ByteBufAllocator alloc;
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong notIpv4 = new AtomicLong();
    private final AtomicLong notForUs = new AtomicLong();
    private final AtomicLong runts = new AtomicLong();

    private EthernetFraming(Builder b) {
        super(b.inner);
        this.local = b.local;
        this.peer = b.peer;
        this.alloc = b.alloc;
    }

    /** Starts framing over {@code inner}, whose MTU must leave room for the header. */
    public static Builder builder(Link inner) {
        return new Builder(inner);
    }

    /** Builds an {@link EthernetFraming}; {@link #local} and {@link #peer} are required. */
    public static final class Builder {
        private final Link inner;
        private MacAddress local;
        private MacAddress peer;
        private ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

        private Builder(Link inner) {
            this.inner = Objects.requireNonNull(inner);
        }

        /** Our address: the source of every frame sent, and the destination of those kept. */
        public Builder local(MacAddress local) {
            this.local = Objects.requireNonNull(local);
            return this;
        }

        /** The one neighbour every packet is sent to (the far end of a point-to-point wire, or a router). */
        public Builder peer(MacAddress peer) {
            this.peer = Objects.requireNonNull(peer);
            return this;
        }

        /** Where outgoing frames' buffers come from (default {@link ByteBufAllocator#DEFAULT}). */
        public Builder allocator(ByteBufAllocator alloc) {
            this.alloc = Objects.requireNonNull(alloc);
            return this;
        }

        public EthernetFraming build() {
            Objects.requireNonNull(local, "local MAC address");
            Objects.requireNonNull(peer, "peer MAC address");
            if (local.isGroup()) {
                throw new IllegalArgumentException("a group address cannot be a station's own: " + local);
            }
            if (inner.mtu() < HEADER_LENGTH + 68) {
                throw new IllegalArgumentException("inner MTU " + inner.mtu() + " leaves no room for IPv4's 68");
            }
            return new EthernetFraming(this);
        }
    }

    public Counters counters() {
        return new Counters(sent.get(), received.get(), notIpv4.get(), notForUs.get(), runts.get());
    }

    /** The inner link's MTU less the Ethernet header: the largest IPv4 packet a frame carries. */
    @Override
    public int mtu() {
        return inner.mtu() - HEADER_LENGTH;
    }

    /**
     * {@inheritDoc} The packet is copied behind a new header into a buffer from the allocator,
     * released, and the frame passed (with ownership) to the inner link.
     */
    @Override
    public void transmit(ByteBuf packet, long nowNanos) {
        ByteBuf frame;
        try {
            frame = alloc.buffer(HEADER_LENGTH + packet.readableBytes());
            peer.write(frame);
            local.write(frame);
            frame.writeShort(ETHERTYPE_IPV4);
            frame.writeBytes(packet, packet.readerIndex(), packet.readableBytes());
        } finally {
            packet.release();
        }
        sent.incrementAndGet();
        inner.transmit(frame, nowNanos);
    }

    /**
     * {@inheritDoc} Frames that are not IPv4 for us are released and counted on the way; the
     * packet returned is the frame's buffer with the reader index past the header.
     */
    @Override
    public ByteBuf receive(long nowNanos) {
        for (ByteBuf frame; (frame = inner.receive(nowNanos)) != null; ) {
            int base = frame.readerIndex();
            if (frame.readableBytes() < HEADER_LENGTH) {
                drop(frame, runts, "runt");
                continue;
            }
            MacAddress to = MacAddress.read(frame, base + DESTINATION);
            if (!to.equals(local) && !to.equals(MacAddress.BROADCAST)) {
                drop(frame, notForUs, "for " + to);
                continue;
            }
            int type = frame.getUnsignedShort(base + ETHERTYPE);
            if (type != ETHERTYPE_IPV4) {
                drop(frame, notIpv4, String.format("EtherType 0x%04x", type));
                continue;
            }
            frame.skipBytes(HEADER_LENGTH);
            received.incrementAndGet();
            return frame;
        }
        return null;
    }

    private void drop(ByteBuf frame, AtomicLong counter, String why) {
        counter.incrementAndGet();
        LOG.debug("ethernet {}: dropped a {}-byte frame: {}", local, frame.readableBytes(), why);
        frame.release();
    }

    @Override
    public String toString() {
        return "EthernetFraming(" + local + " -> " + peer + " over " + inner + ")";
    }
}
