package io.opsec.stack.fuzz;

import io.opsec.stack.testing.TrackingAllocator;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpEndpoint;
import io.opsec.stack.tcp.TcpListener;
import io.opsec.stack.tcp.TcpState;
import io.opsec.stack.wire.Checksum;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpSegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer target: hostile segments and user calls against a connection in each of the ten states
 * a peer can reach (LISTEN, SYN-SENT, SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2,
 * CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT), on virtual time.
 *
 * <p>The input picks the state and whether the handshake negotiated timestamps and SACK, then a
 * sequence of steps: a segment (any flags, sequence and acknowledgment numbers near the edges
 * that matter or anywhere, any window, a raw option area of up to 40 bytes that may be
 * malformed, up to 3000 bytes of payload), time passing, or a user call (send, read, close,
 * shutdown, abort). What must hold:
 * <ul>
 *   <li>nothing throws;</li>
 *   <li>after every step the control block is consistent (SND.UNA =< SND.NXT, windows and
 *       queues within their bounds) and after {@code poll(now)} no timer is left in the past
 *       (a timer that never moves forward would spin the event loop);</li>
 *   <li>then the user closes and the peer goes silent: within two hours of virtual time and a
 *       bounded number of timer firings every connection is gone ({@code connectionCount() == 0}):
 *       nothing wedges;</li>
 *   <li>every buffer the endpoint allocated has been released (no leak).</li>
 * </ul>
 * Replays {@code SegmentInjectionFuzzTestInputs/inject/} in every build; fuzzes with
 * {@code JAZZER_FUZZ=1}.
 */
class SegmentInjectionFuzzTest {
    static final int LOCAL = Ipv4Address.parse("10.0.0.1");
    static final int REMOTE = Ipv4Address.parse("10.0.0.2");
    static final int PORT = 80;
    static final int PEER_PORT = 40000;
    static final int PEER_ISS = 1_000_000;
    static final long MS = 1_000_000L;
    static final String[] STATES = {"LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
        "CLOSE-WAIT", "LAST-ACK", "CLOSING", "TIME-WAIT"};

    @BeforeAll
    static void fastReplay() {
        JazzerReplay.fastReplay();
    }

    @AfterAll
    static void restore() {
        JazzerReplay.restore();
    }

    /** One endpoint under attack and the peer's view of the connection. */
    static final class Harness {
        final TrackingAllocator alloc = new TrackingAllocator();
        final TcpConfig cfg = TcpConfig.defaults();
        final TcpEndpoint ep;
        TcpListener listener;
        TcpConnection conn;
        int localPort = PORT;
        int remotePort = PEER_PORT;
        int iss;
        int peerNxt = PEER_ISS;
        long now;
        final List<TcpHeader> out = new ArrayList<>();

        Harness() {
            byte[] secret = new byte[32];
            Arrays.fill(secret, (byte) 3);
            ep = new TcpEndpoint(LOCAL, cfg, secret, new SplittableRandom(1), alloc);
        }

        void deliver(int flags, int seq, int ack, int win, byte[] rawOptions, int payloadLen, byte fill) {
            TcpHeader h = new TcpHeader(remotePort, localPort, seq, ack, 0, flags, win, 0, 0, List.of());
            ByteBuf pkt = alloc.buffer();
            ByteBuf payload = alloc.buffer(payloadLen);
            for (int i = 0; i < payloadLen; i++) {
                payload.writeByte(fill + i);
            }
            try {
                TcpSegment.emit(pkt, REMOTE, LOCAL, 0, h, payload);
            } finally {
                payload.release();
            }
            if (rawOptions.length > 0) {
                pkt = withRawOptions(pkt, rawOptions);
            }
            ep.receive(pkt, now);
            drain();
        }

        /** Rebuilds the packet with the option bytes spliced in, fixing lengths and checksums. */
        private ByteBuf withRawOptions(ByteBuf pkt, byte[] opts) {
            int optLen = (Math.min(opts.length, 40) + 3) & ~3;
            int ipLen = 20;
            int tcpLen = pkt.readableBytes() - ipLen;
            ByteBuf b = alloc.buffer(pkt.readableBytes() + optLen);
            b.writeBytes(pkt, 0, ipLen + 20);
            b.writeBytes(opts, 0, Math.min(opts.length, 40));
            b.writeZero(optLen - Math.min(opts.length, 40));
            b.writeBytes(pkt, ipLen + 20, tcpLen - 20);
            pkt.release();
            b.setShort(2, b.readableBytes());
            b.setShort(10, 0);
            b.setShort(10, Checksum.compute(b, 0, ipLen));
            b.setByte(ipLen + 12, ((20 + optLen) / 4) << 4);
            b.setShort(ipLen + 16, 0);
            int segLen = b.readableBytes() - ipLen;
            b.setShort(ipLen + 16, Checksum.finish(Checksum.add(Checksum.pseudoHeader(REMOTE, LOCAL, 6, segLen), b, ipLen,
                    segLen)));
            return b;
        }

        void drain() {
            for (ByteBuf p; (p = ep.pollTransmit()) != null; ) {
                try {
                    TcpSegment s = TcpSegment.parse(p, cfg.codec()).value();
                    out.add(s.tcp());
                    if (s.tcp().has(TcpFlags.SYN)) {
                        iss = s.tcp().seq();
                    }
                } finally {
                    p.release();
                }
            }
        }

        void advance(long to) {
            for (int i = 0; i < 100_000; i++) {
                long next = ep.pollAt();
                if (next > to) {
                    break;
                }
                long at = Math.max(next, now);
                ep.poll(at);
                now = at;
                drain();
                assertTrue(ep.pollAt() > now, "a timer was left due at " + now + " after poll");
            }
            now = Math.max(now, to);
        }

        void userSend(int n) {
            if (conn == null) return;
            ByteBuf b = alloc.buffer(n).writeZero(n);
            try {
                conn.send(b, now);
            } finally {
                b.release();
            }
            drain();
        }

        void userRead(int n) {
            if (conn == null) return;
            ByteBuf b = conn.read(Math.max(1, n), now);
            if (b != null) b.release();
            drain();
        }

        void acceptIfAny() {
            if (listener != null && conn == null) {
                TcpConnection c = ep.accept(listener);
                if (c != null) conn = c;
            }
        }

        /** Drives the endpoint into {@code state} with a well-behaved peer. */
        void reach(String state, boolean options) {
            List<TcpOption> synOpts = options
                    ? List.of(new TcpOption.Mss(1460), new TcpOption.SackPermitted(), new TcpOption.Timestamps(1, 0),
                            new TcpOption.Nop(), new TcpOption.WindowScale(7))
                    : List.of(new TcpOption.Mss(1460));
            if (state.equals("SYN-SENT")) {
                localPort = 50000;
                remotePort = PORT;
                conn = ep.connect(REMOTE, PORT, 50000, now);
                drain();
                return;
            }
            listener = ep.listen(PORT, 8);
            if (state.equals("LISTEN")) return;
            deliverOpts(TcpFlags.SYN, peerNxt, 0, synOpts);
            peerNxt++;
            if (state.equals("SYN-RECEIVED")) return;
            now += 10 * MS;
            deliverOpts(TcpFlags.ACK, peerNxt, iss + 1, tsOpts(options));
            acceptIfAny();
            assertNotNull(conn, "accepted");
            switch (state) {
                case "FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "TIME-WAIT" -> {
                    conn.shutdownOutput(now);
                    drain();
                    if (state.equals("CLOSING")) {
                        deliverOpts(TcpFlags.FIN | TcpFlags.ACK, peerNxt, iss + 1, tsOpts(options));
                        peerNxt++;
                    } else if (!state.equals("FIN-WAIT-1")) {
                        deliverOpts(TcpFlags.ACK, peerNxt, iss + 2, tsOpts(options));
                        if (state.equals("TIME-WAIT")) {
                            deliverOpts(TcpFlags.FIN | TcpFlags.ACK, peerNxt, iss + 2, tsOpts(options));
                            peerNxt++;
                        }
                    }
                }
                case "CLOSE-WAIT", "LAST-ACK" -> {
                    deliverOpts(TcpFlags.FIN | TcpFlags.ACK, peerNxt, iss + 1, tsOpts(options));
                    peerNxt++;
                    if (state.equals("LAST-ACK")) {
                        conn.close(now);
                        drain();
                    }
                }
                default -> { }
            }
            assertEquals(state, conn.state().toString(), "fixture state");
        }

        private List<TcpOption> tsOpts(boolean options) {
            return options ? List.of(new TcpOption.Nop(), new TcpOption.Nop(),
                    new TcpOption.Timestamps((int) (now / MS) + 2, 0)) : List.of();
        }

        private void deliverOpts(int flags, int seq, int ack, List<TcpOption> opts) {
            TcpHeader h = new TcpHeader(remotePort, localPort, seq, ack, 0, flags, 65535, 0, 0, opts);
            ByteBuf pkt = alloc.buffer();
            TcpSegment.emit(pkt, REMOTE, LOCAL, 0, h, null);
            ep.receive(pkt, now);
            drain();
        }

        void checkConsistent() {
            acceptIfAny();
            if (conn == null) return;
            TcpConnection.Info i = conn.info();
            assertTrue(SeqNum.le(i.sndUna(), i.sndNxt()), "SND.UNA beyond SND.NXT: " + i);
            assertTrue(i.rcvWnd() >= 0 && i.sndWnd() >= 0, "negative window: " + i);
            assertTrue(conn.readableBytes() >= 0 && conn.readableBytes() <= cfg.receiveBufferSize(),
                    "readable bytes beyond the buffer: " + conn.readableBytes());
            assertTrue(conn.unacknowledgedBytes() <= cfg.sendBufferSize(), "send queue beyond its bound");
        }
    }

    @FuzzTest(maxDuration = "10m")
    void inject(FuzzedDataProvider data) {
        Harness h = new Harness();
        String state = STATES[data.consumeInt(0, STATES.length - 1)];
        boolean options = data.consumeBoolean();
        h.reach(state, options);
        int steps = data.consumeInt(0, 24);
        for (int s = 0; s < steps && data.remainingBytes() > 0; s++) {
            int kind = data.consumeInt(0, 9);
            switch (kind) {
                case 0, 1, 2, 3, 4 -> {
                    int flags = data.consumeInt(0, 255);
                    int rcvBase = h.peerNxt;
                    int sndBase = h.conn != null ? h.conn.info().sndUna() : h.iss + 1;
                    int seq = switch (data.consumeInt(0, 3)) {
                        case 0 -> rcvBase;
                        case 1 -> rcvBase + data.consumeInt(-70_000, 70_000);
                        case 2 -> rcvBase + data.consumeInt(-3, 3);
                        default -> data.consumeInt();
                    };
                    int ack = switch (data.consumeInt(0, 3)) {
                        case 0 -> sndBase;
                        case 1 -> sndBase + data.consumeInt(-70_000, 70_000);
                        case 2 -> h.conn != null ? h.conn.info().sndNxt() + data.consumeInt(-2, 2) : sndBase;
                        default -> data.consumeInt();
                    };
                    int win = data.consumeInt(0, 65535);
                    byte[] opts = data.consumeBytes(data.consumeInt(0, 40));
                    int len = data.consumeInt(0, 3000);
                    h.deliver(flags, seq, ack, win, opts, len, data.consumeByte());
                    if ((flags & TcpFlags.SYN) == 0 && SeqNum.ge(seq, h.peerNxt) && len > 0
                            && SeqNum.lt(seq, h.peerNxt + 100_000)) {
                        h.peerNxt = seq + len; // let later "at the edge" guesses follow the stream
                    }
                }
                case 5 -> h.advance(h.now + data.consumeLong(0, 20_000) * MS);
                case 6 -> h.userSend(data.consumeInt(0, 300_000));
                case 7 -> h.userRead(data.consumeInt(0, 300_000));
                case 8 -> {
                    if (h.conn != null) {
                        switch (data.consumeInt(0, 3)) {
                            case 0 -> h.conn.close(h.now);
                            case 1 -> h.conn.shutdownOutput(h.now);
                            case 2 -> h.conn.abort(h.now);
                            default -> h.conn.setNoDelay(data.consumeBoolean(), h.now);
                        }
                        h.drain();
                    }
                }
                default -> h.advance(h.now + data.consumeInt(0, 400) * MS);
            }
            h.checkConsistent();
        }
        // The user closes; the peer falls silent. Everything must end within bounded virtual time.
        if (h.conn != null) {
            h.userRead(Integer.MAX_VALUE);
            h.conn.close(h.now);
            h.drain();
        }
        if (h.listener != null) {
            h.ep.closeListener(h.listener, h.now);
            h.drain();
        }
        h.advance(h.now + 2 * 3600 * 1000 * MS);
        if (h.ep.connectionCount() != 0) {
            fail("after 2 h of silence " + h.ep.connectionCount() + " connection(s) remain in " + state
                    + (h.conn != null ? ": " + h.conn.info() : ""));
        }
        h.ep.close();
        h.drain();
        assertEquals(0, h.alloc.live(), "buffers left unreleased");
    }
}
