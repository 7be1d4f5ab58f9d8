package io.opsec.stack.tcp;

import io.opsec.stack.testing.TrackingAllocator;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Drives one {@link TcpEndpoint} with hand-made segments from a scripted peer and checks what it
 * sends, like a packet trace: {@code deliver(at(10), seg().ack(iss + 1))},
 * {@code expect(at(10), seg().flags(ACK).seq(iss + 1))}, {@code expectNothing(at(300))}.
 *
 * <p>The endpoint under test is LOCAL (10.0.0.1, port 80 when listening); the scripted peer is
 * REMOTE (10.0.0.2, port 40000). ISNs are fixed: ours is {@link #iss}, the peer's {@link #REMOTE_ISS}
 * unless a test chooses others (for sequence wrap). Every buffer comes from a tracking allocator,
 * and {@link #close()} fails the test if any is left unreleased.
 */
final class TcpFixture implements AutoCloseable {
    static final int LOCAL = Ipv4Address.parse("10.0.0.1");
    static final int REMOTE = Ipv4Address.parse("10.0.0.2");
    static final int LOCAL_PORT = 80;
    static final int REMOTE_PORT = 40000;
    static final int ACK = TcpFlags.ACK, SYN = TcpFlags.SYN, FIN = TcpFlags.FIN, RST = TcpFlags.RST,
            PSH = TcpFlags.PSH, URG = TcpFlags.URG;

    final TrackingAllocator alloc = new TrackingAllocator();
    final TcpConfig cfg;
    final TcpEndpoint ep;
    /** Our initial sequence number. */
    final int iss;
    /** The peer's initial sequence number. */
    final int remoteIss;
    TcpListener listener;
    TcpConnection conn;
    final List<String> events = new ArrayList<>();
    int localPort = LOCAL_PORT;
    int remotePort = REMOTE_PORT;

    static final int DEFAULT_ISS = 10_000;
    static final int REMOTE_ISS = 5_000;

    TcpFixture() {
        this(TcpConfig.defaults());
    }

    TcpFixture(TcpConfig cfg) {
        this(cfg, DEFAULT_ISS, REMOTE_ISS);
    }

    TcpFixture(TcpConfig cfg, int iss, int remoteIss) {
        this.cfg = cfg;
        this.iss = iss;
        this.remoteIss = remoteIss;
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 7);
        ep = new TcpEndpoint(LOCAL, cfg, secret, new SplittableRandom(42), alloc);
        ep.setIsnGenerator(new IsnGenerator() {
            @Override
            public int isn(int la, int lp, int ra, int rp, long now) {
                return iss;
            }

            @Override
            public int timestampOffset(int la, int lp, int ra, int rp) {
                return 0;
            }
        });
    }

    static long at(long ms) {
        return ms * 1_000_000L;
    }

    static long atUs(long us) {
        return us * 1_000L;
    }

    // ----------------------------------------------------------------------------- states

    /** LISTEN on port 80. */
    TcpFixture listening() {
        listener = ep.listen(LOCAL_PORT, 16);
        return this;
    }

    /** Passive open up to SYN-RECEIVED: the peer's SYN (MSS 1460 only) and our SYN-ACK. */
    TcpFixture synReceived() {
        return synReceived(List.of(new TcpOption.Mss(1460)));
    }

    TcpFixture synReceived(List<TcpOption> synOptions) {
        listening();
        deliver(at(0), seg().flags(SYN).seq(remoteIss).win(65535).opts(synOptions));
        expect(at(0), seg().flags(SYN | ACK).seq(iss).ack(remoteIss + 1));
        return this;
    }

    /** Passive open completed and accepted: ESTABLISHED, nothing in flight either way. */
    TcpFixture established() {
        synReceived();
        deliver(at(0), seg().flags(ACK).seq(remoteIss + 1).ack(iss + 1).win(65535));
        conn = ep.accept(listener);
        assertNotNull(conn, "accepted");
        attachEvents();
        assertEquals(TcpState.ESTABLISHED, conn.state());
        return this;
    }

    /** Passive open with extra options on the peer's SYN (e.g. timestamps, window scale, SACK). */
    TcpFixture established(List<TcpOption> synOptions, List<TcpOption> ackOptions) {
        synReceived(synOptions);
        deliver(at(0), seg().flags(ACK).seq(remoteIss + 1).ack(iss + 1).win(65535).opts(ackOptions));
        conn = ep.accept(listener);
        assertNotNull(conn, "accepted");
        attachEvents();
        return this;
    }

    /** Active open: connect from port 50000 and expect our SYN. */
    TcpFixture synSent() {
        localPort = 50000;
        remotePort = LOCAL_PORT;
        conn = ep.connect(REMOTE, LOCAL_PORT, 50000, at(0));
        attachEvents();
        expect(at(0), seg().flags(SYN).seq(iss));
        return this;
    }

    /** Active open completed: SYN, SYN-ACK (MSS 1460), ACK. */
    TcpFixture establishedActive() {
        synSent();
        deliver(at(0), seg().flags(SYN | ACK).seq(remoteIss).ack(iss + 1).win(65535)
                .opts(List.of(new TcpOption.Mss(1460))));
        expect(at(0), seg().flags(ACK).seq(iss + 1).ack(remoteIss + 1));
        assertEquals(TcpState.ESTABLISHED, conn.state());
        return this;
    }

    /** ESTABLISHED, then our close(): FIN-WAIT-1 with our FIN sent. */
    TcpFixture finWait1() {
        established();
        conn.close(at(0));
        expect(at(0), seg().flags(FIN | ACK).seq(iss + 1).ack(remoteIss + 1));
        assertEquals(TcpState.FIN_WAIT_1, conn.state());
        return this;
    }

    /** FIN-WAIT-1, then the peer acknowledges our FIN. */
    TcpFixture finWait2() {
        finWait1();
        deliver(at(0), seg().flags(ACK).seq(remoteIss + 1).ack(iss + 2));
        assertEquals(TcpState.FIN_WAIT_2, conn.state());
        return this;
    }

    /** ESTABLISHED, then the peer's FIN: CLOSE-WAIT. */
    TcpFixture closeWait() {
        established();
        deliver(at(0), seg().flags(FIN | ACK).seq(remoteIss + 1).ack(iss + 1));
        expect(at(0), seg().flags(ACK).seq(iss + 1).ack(remoteIss + 2));
        assertEquals(TcpState.CLOSE_WAIT, conn.state());
        return this;
    }

    /** CLOSE-WAIT, then our close(): LAST-ACK with our FIN sent. */
    TcpFixture lastAck() {
        closeWait();
        conn.close(at(0));
        expect(at(0), seg().flags(FIN | ACK).seq(iss + 1).ack(remoteIss + 2));
        assertEquals(TcpState.LAST_ACK, conn.state());
        return this;
    }

    /** FIN-WAIT-1, then the peer's FIN crossing ours: CLOSING. */
    TcpFixture closing() {
        finWait1();
        deliver(at(0), seg().flags(FIN | ACK).seq(remoteIss + 1).ack(iss + 1));
        expect(at(0), seg().flags(ACK).seq(iss + 2).ack(remoteIss + 2));
        assertEquals(TcpState.CLOSING, conn.state());
        return this;
    }

    /** FIN-WAIT-2, then the peer's FIN: TIME-WAIT. */
    TcpFixture timeWait() {
        finWait2();
        deliver(at(0), seg().flags(FIN | ACK).seq(remoteIss + 1).ack(iss + 2));
        expect(at(0), seg().flags(ACK).seq(iss + 2).ack(remoteIss + 2));
        assertEquals(TcpState.TIME_WAIT, conn.state());
        return this;
    }

    void attachEvents() {
        conn.setEvents(new ConnectionEvents() {
            @Override public void onEstablished(TcpConnection c) { events.add("established"); }
            @Override public void onReadable(TcpConnection c) { events.add("readable"); }
            @Override public void onWritable(TcpConnection c) { events.add("writable"); }
            @Override public void onClosed(TcpConnection c, TcpError e) { events.add("closed " + e); }
        });
    }

    // ----------------------------------------------------------------------------- segments

    /** A segment from the peer to us (or, as a spec for {@link #expect}, from us to the peer). */
    final class Seg {
        Integer flags;
        Integer seq;
        Integer ack;
        Integer win;
        List<TcpOption> opts;
        byte[] payload;
        boolean lengthOnly;
        int urgent;

        Seg flags(int f) { flags = f; return this; }
        Seg seq(int s) { seq = s; return this; }
        Seg ack(int a) { ack = a; return this; }
        Seg win(int w) { win = w; return this; }
        Seg opts(List<TcpOption> o) { opts = o; return this; }
        Seg opts(TcpOption... o) { opts = List.of(o); return this; }
        Seg payload(byte[] p) { payload = p; lengthOnly = false; return this; }
        Seg payload(String s) { return payload(s.getBytes(StandardCharsets.US_ASCII)); }
        /** {@code n} bytes of a counting pattern when delivered; as a spec, only the length is checked. */
        Seg len(int n) {
            payload = new byte[n];
            for (int i = 0; i < n; i++) payload[i] = (byte) i;
            lengthOnly = true;
            return this;
        }
        Seg urgent(int u) { urgent = u; return this; }

        @Override
        public String toString() {
            return "[" + (flags == null ? "?" : TcpFlags.format(flags)) + " seq " + (seq == null ? "?" : SeqNum.toString(seq))
                    + " ack " + (ack == null ? "?" : SeqNum.toString(ack)) + " win " + win + " opts " + opts
                    + " len " + (payload == null ? "?" : payload.length) + "]";
        }
    }

    Seg seg() {
        return new Seg();
    }

    /** A received packet, decoded. */
    record Got(TcpHeader h, byte[] payload) {
        int seq() { return h.seq(); }
        int ack() { return h.ack(); }
        int flags() { return h.flags(); }
        int win() { return h.window(); }
        int len() { return payload.length; }
        <T extends TcpOption> T option(Class<T> c) { return h.option(c); }

        @Override
        public String toString() {
            return h + " len " + payload.length;
        }
    }

    /** Advances time to {@code t}, running timers at their due times, then delivers the segment. */
    void deliver(long t, Seg s) {
        advance(t);
        ep.receive(build(s), t);
    }

    /** Delivers raw bytes as a packet (malformed input tests). */
    void deliverRaw(long t, byte[] packet) {
        advance(t);
        ByteBuf b = alloc.buffer(packet.length);
        b.writeBytes(packet);
        ep.receive(b, t);
    }

    ByteBuf build(Seg s) {
        int flags = s.flags == null ? ACK : s.flags;
        TcpHeader h = new TcpHeader(remotePort, localPort, s.seq == null ? 0 : s.seq, s.ack == null ? 0 : s.ack, 0,
                flags, s.win == null ? 65535 : s.win, 0, s.urgent, s.opts == null ? List.of() : s.opts);
        ByteBuf out = alloc.buffer();
        ByteBuf payload = s.payload == null ? null : alloc.buffer().writeBytes(s.payload);
        try {
            TcpSegment.emit(out, REMOTE, LOCAL, 0, h, payload);
        } finally {
            if (payload != null) {
                payload.release();
            }
        }
        return out;
    }

    long now;

    /** Runs every timer due up to {@code t}, each at its own deadline. */
    void advance(long t) {
        long last = Long.MIN_VALUE;
        int same = 0;
        for (int guard = 0; guard < 100_000; guard++) {
            long next = ep.pollAt();
            if (next > t) {
                break;
            }
            same = next == last ? same + 1 : 0;
            last = next;
            if (same > 50) {
                fail("timer livelock: pollAt() stays at " + next + " after polling");
            }
            now = Math.max(now, next);
            ep.poll(next);
        }
        now = Math.max(now, t);
    }

    /** Advances to {@code t} and takes the next segment we sent; it must match the spec's set fields. */
    Got expect(long t, Seg spec) {
        advance(t);
        ByteBuf pkt = ep.pollTransmit();
        if (pkt == null) {
            fail("expected " + spec + " at " + t / 1_000_000 + " ms, got nothing");
        }
        Got g;
        try {
            TcpSegment seg = TcpSegment.parse(pkt, cfg.codec()).value();
            assertEquals(LOCAL, seg.ip().source());
            assertEquals(REMOTE, seg.ip().destination());
            byte[] p = new byte[seg.payloadLength()];
            seg.buffer().getBytes(seg.payloadIndex(), p);
            g = new Got(seg.tcp(), p);
            assertEquals(localPort, seg.tcp().sourcePort(), "source port of " + g);
            assertEquals(remotePort, seg.tcp().destinationPort(), "destination port of " + g);
        } finally {
            pkt.release();
        }
        String where = "segment " + g + " vs expected " + spec;
        if (spec.flags != null) {
            assertEquals(TcpFlags.format(spec.flags), TcpFlags.format(g.flags()), "flags of " + where);
        }
        if (spec.seq != null) {
            assertEquals(SeqNum.toString(spec.seq), SeqNum.toString(g.seq()), "seq of " + where);
        }
        if (spec.ack != null) {
            assertEquals(SeqNum.toString(spec.ack), SeqNum.toString(g.ack()), "ack of " + where);
        }
        if (spec.win != null) {
            assertEquals((int) spec.win, g.win(), "window of " + where);
        }
        if (spec.opts != null) {
            List<TcpOption> actual = new ArrayList<>(g.h().options());
            actual.removeIf(o -> o instanceof TcpOption.Eol);
            assertEquals(spec.opts, actual, "options of " + where);
        }
        if (spec.payload != null && spec.lengthOnly) {
            assertEquals(spec.payload.length, g.len(), "payload length of " + where);
        } else if (spec.payload != null) {
            assertArrayEquals(spec.payload, g.payload(), "payload of " + where);
        }
        return g;
    }

    /** Advances to {@code t}; nothing may have been sent. */
    void expectNothing(long t) {
        advance(t);
        ByteBuf pkt = ep.pollTransmit();
        if (pkt != null) {
            String s;
            try {
                s = TcpSegment.parse(pkt, TcpOptions.Codec.DEFAULT).map(TcpSegment::toString).value();
            } finally {
                pkt.release();
            }
            fail("expected nothing by " + t / 1_000_000 + " ms, got " + s);
        }
    }

    /** Takes every queued segment (discarding them). */
    int drain() {
        int n = 0;
        ByteBuf b;
        while ((b = ep.pollTransmit()) != null) {
            b.release();
            n++;
        }
        return n;
    }

    /** Queues bytes on the connection. */
    int send(long t, byte[] data) {
        advance(t);
        ByteBuf b = alloc.buffer().writeBytes(data);
        try {
            return conn.send(b, t);
        } finally {
            b.release();
        }
    }

    int send(long t, int n) {
        byte[] d = new byte[n];
        for (int i = 0; i < n; i++) d[i] = (byte) i;
        return send(t, d);
    }

    /** Reads up to max bytes from the connection. */
    byte[] read(long t, int max) {
        advance(t);
        ByteBuf b = conn.read(max, t);
        if (b == null) {
            return new byte[0];
        }
        try {
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    void assertState(TcpState s) {
        assertEquals(s, conn.state());
    }

    void assertNothingQueued() {
        assertNull(ep.pollTransmit());
    }

    @Override
    public void close() {
        drain();
        ep.close();
        assertEquals(0, alloc.live(), "buffers left unreleased");
    }
}
