package io.opsec.stack.flood;

import io.opsec.stack.testing.TrackingAllocator;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.tcp.SynCookieMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpEndpoint;
import io.opsec.stack.tcp.TcpListener;
import io.opsec.stack.tcp.TcpState;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpSegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Flood resistance of the TCP engine on virtual time: a server endpoint, a legitimate client
 * endpoint wired to it packet by packet, and an attacker who injects spoofed segments straight
 * into the server. Packets the server sends to spoofed addresses go nowhere (as on a real
 * network, nobody answers them). Every test is bounded: a fixed number of packets over a fixed
 * span of virtual time.
 */
class FloodTest {
    static final int SERVER = Ipv4Address.parse("10.0.0.1");
    static final int CLIENT = Ipv4Address.parse("10.0.0.2");
    static final int PORT = 80;
    static final int BACKLOG = 128;
    static final long MS = 1_000_000L;
    static final long SEC = 1_000 * MS;

    final TrackingAllocator alloc = new TrackingAllocator();
    final TcpEndpoint server = endpoint(SERVER, 1);
    final TcpEndpoint client = endpoint(CLIENT, 2);
    final SplittableRandom attacker = new SplittableRandom(1337);
    long now;
    /** Packets from the server to the legitimate client, and to anyone else (dropped), counted. */
    long toClient, toSpoofed;

    private TcpEndpoint endpoint(int addr, int seed) {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) seed);
        return new TcpEndpoint(addr, TcpConfig.defaults(), secret, new SplittableRandom(seed), alloc);
    }

    @AfterEach
    void noLeaks() {
        server.close();
        client.close();
        shuttle();
        assertEquals(0, alloc.live(), "buffers left unreleased");
    }

    /** Moves packets between the two endpoints until both are quiet; spoofed destinations drop. */
    void shuttle() {
        for (int i = 0; i < 100_000; i++) {
            boolean moved = false;
            for (ByteBuf p; (p = server.pollTransmit()) != null; moved = true) {
                if (p.getInt(16) == CLIENT) {
                    toClient++;
                    client.receive(p, now);
                } else {
                    toSpoofed++;
                    p.release();
                }
            }
            for (ByteBuf p; (p = client.pollTransmit()) != null; moved = true) {
                server.receive(p, now);
            }
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("packets ping-pong without end");
    }

    /** Advances virtual time to {@code t}, running both endpoints' timers at their deadlines. */
    void advance(long t) {
        for (int i = 0; i < 10_000_000; i++) {
            long next = Math.min(server.pollAt(), client.pollAt());
            if (next > t) {
                break;
            }
            now = Math.max(now, next);
            server.poll(now);
            client.poll(now);
            shuttle();
        }
        now = Math.max(now, t);
    }

    /** A spoofed segment into the server. */
    void inject(int src, int srcPort, int flags, int seq, int ack, List<TcpOption> opts) {
        TcpHeader h = new TcpHeader(srcPort, PORT, seq, ack, 0, flags, 65535, 0, 0, opts);
        ByteBuf pkt = alloc.buffer();
        TcpSegment.emit(pkt, src, SERVER, 0, h, null);
        server.receive(pkt, now);
        shuttle();
    }

    /** A random unicast address: the attacker does not waste SYNs on sources the server drops unread. */
    int randomSpoofedAddress() {
        int a;
        do {
            a = attacker.nextInt();
        } while (a == CLIENT || a == SERVER || !Ipv4Address.isSingleHost(a));
        return a;
    }

    static final List<TcpOption> SYN_OPTS = List.of(new TcpOption.Mss(1460), new TcpOption.SackPermitted(),
            new TcpOption.Timestamps(1, 0), new TcpOption.Nop(), new TcpOption.WindowScale(7));

    /**
     * 100,000 spoofed SYNs, 1,000 per virtual second: the listener's backlog (half-open plus
     * unaccepted, RFC 9293 §3.10.7.2 "resources permitting") caps what the server holds, so the
     * number of connections never exceeds it; every SYN beyond it is answered with a SYN cookie
     * (RFC 4987 §3.6), which keeps no state, and counted; after the flood, the half-open
     * connections time out (SYN-ACK retries exhausted) and the server holds nothing.
     */
    @Test
    void synFlood_memoryStaysBounded_andHalfOpenConnectionsTimeOut() {
        TcpListener l = server.listen(PORT, BACKLOG);
        int maxConnections = 0;
        long maxLiveBuffers = 0;
        for (int i = 0; i < 100_000; i++) {
            advance(i * MS);
            inject(randomSpoofedAddress(), 1024 + attacker.nextInt(60_000), TcpFlags.SYN, attacker.nextInt(), 0, SYN_OPTS);
            maxConnections = Math.max(maxConnections, server.connectionCount());
            if (i % 1000 == 999) {
                maxLiveBuffers = Math.max(maxLiveBuffers, alloc.live());
            }
        }
        assertEquals(BACKLOG, maxConnections, "the backlog bounds the half-open connections");
        // Memory: the buffers held stay proportional to the backlog, not to the SYNs received.
        assertTrue(maxLiveBuffers <= BACKLOG, "live buffers during the flood: " + maxLiveBuffers);
        System.out.println("SYN flood: at most " + maxLiveBuffers + " live buffers, " + maxConnections + " connections");
        assertTrue(server.stats().synCookiesSent() > 99_000, "SYNs beyond the backlog get cookies: "
                + server.stats().synCookiesSent());
        assertEquals(0, server.stats().synsDroppedBacklog());
        assertEquals(0, server.stats().synCookiesValidated(), "nobody answered a cookie");
        assertEquals(0, l.acceptable(), "nothing completed");
        // SYN-ACK retries (5, backing off from 1 s) end after 63 s; allow the last RTO in full.
        advance(now + 200 * SEC);
        assertEquals(0, server.connectionCount(), "half-open connections time out");
        // One SYN-ACK per cookie, six (the first and 5 retries) per half-open connection.
        assertTrue(toSpoofed <= 100_000L + 5 * BACKLOG * 100, "bounded answers to spoofed SYNs: " + toSpoofed);
    }

    /** Without cookies (configured off), SYNs beyond the backlog are dropped and counted. */
    @Test
    void synFlood_withoutCookies_dropsSynsBeyondTheBacklog() {
        TcpEndpoint plain = new TcpEndpoint(SERVER, TcpConfig.builder().synCookies(SynCookieMode.OFF).build(),
                new byte[32], new SplittableRandom(5), alloc);
        try {
            plain.listen(PORT, BACKLOG);
            for (int i = 0; i < 10_000; i++) {
                TcpHeader h = new TcpHeader(1024 + attacker.nextInt(60_000), PORT, attacker.nextInt(), 0, 0,
                        TcpFlags.SYN, 65535, 0, 0, SYN_OPTS);
                ByteBuf pkt = alloc.buffer();
                TcpSegment.emit(pkt, randomSpoofedAddress(), SERVER, 0, h, null);
                plain.receive(pkt, i * MS);
                for (ByteBuf p; (p = plain.pollTransmit()) != null; ) {
                    p.release();
                }
            }
            assertEquals(BACKLOG, plain.connectionCount());
            assertEquals(10_000 - BACKLOG, plain.stats().synsDroppedBacklog());
            assertEquals(0, plain.stats().synCookiesSent());
        } finally {
            plain.close();
        }
    }

    /**
     * The same flood while a legitimate client connects at 10 s: its SYN (and its
     * retransmissions) must be answered and the connection accepted within 30 s. The backlog is
     * full of spoofed half-open connections, so the server answers with a SYN cookie (RFC 4987
     * §3.6) and makes the connection when the client's ACK returns it, with the client's MSS.
     */
    @Test
    void synFlood_legitimateConnectionStillCompletes() {
        TcpListener l = server.listen(PORT, BACKLOG);
        TcpConnection legit = null;
        TcpConnection accepted = null;
        for (int i = 0; i < 40_000 && accepted == null; i++) {
            advance(i * MS);
            if (i == 10_000) {
                legit = client.connect(SERVER, PORT, 50_000, now);
                shuttle();
            }
            inject(randomSpoofedAddress(), 1024 + attacker.nextInt(60_000), TcpFlags.SYN, attacker.nextInt(), 0, SYN_OPTS);
            for (TcpConnection c; (c = server.accept(l)) != null; ) {
                if (c.remoteAddress() == CLIENT) {
                    accepted = c;
                } else {
                    c.abort(now);
                }
            }
        }
        assertTrue(server.connectionCount() <= BACKLOG + 1, "bounded: " + server.connectionCount());
        assertNotNull(legit);
        assertEquals(TcpState.ESTABLISHED, legit.state(), "the legitimate client's state");
        assertNotNull(accepted, "the server accepted the legitimate connection");
        assertTrue(now < 11 * SEC, "accepted within a round trip of the first SYN, at " + now / MS + " ms");
        assertEquals(1, server.stats().synCookiesValidated());
        assertEquals(1460 - 12, accepted.info().smss(), "the client's MSS came back from the cookie");
        assertEquals(TcpState.ESTABLISHED, accepted.state());
        transfer(legit, accepted, 100_000);
        transfer(accepted, legit, 100_000);
    }

    /** An established connection between the legitimate client and the server, and what it sent. */
    TcpConnection[] establish() {
        TcpListener l = server.listen(PORT, BACKLOG);
        TcpConnection c = client.connect(SERVER, PORT, 50_000, now);
        shuttle();
        advance(now + 10 * MS);
        TcpConnection s = server.accept(l);
        assertNotNull(s, "accepted");
        assertEquals(TcpState.ESTABLISHED, c.state());
        return new TcpConnection[] {c, s};
    }

    byte[] transfer(TcpConnection from, TcpConnection to, int n) {
        byte[] data = new byte[n];
        new SplittableRandom(n).nextBytes(data);
        ByteBuf b = alloc.buffer(n).writeBytes(data);
        try {
            assertEquals(n, from.send(b, now));
        } finally {
            b.release();
        }
        shuttle();
        advance(now + 2 * SEC);
        byte[] got = new byte[n];
        int off = 0;
        for (ByteBuf r; off < n && (r = to.read(n - off, now)) != null; ) {
            int k = r.readableBytes();
            r.readBytes(got, off, k);
            r.release();
            off += k;
        }
        shuttle();
        assertEquals(n, off, "bytes delivered");
        assertArrayEquals(data, got, "byte-exact");
        return got;
    }

    /**
     * 100,000 blind RSTs on the live 4-tuple with random sequence numbers, 10,000 per second: none
     * is exactly at RCV.NXT (the test makes sure), so none resets the connection (RFC 5961 §3);
     * the in-window ones draw challenge ACKs, at most 10 per second (§7); data then flows
     * byte-exact both ways.
     */
    @Test
    void rstFlood_changesNothing() {
        TcpConnection[] cs = establish();
        TcpConnection c = cs[0];
        TcpConnection s = cs[1];
        long start = now;
        long ackBefore = toClient;
        int rcvNxt = s.info().rcvNxt();
        for (int i = 0; i < 100_000; i++) {
            advance(start + i * (SEC / 10_000));
            int seq = attacker.nextInt();
            if (i % 2 == 0) {
                seq = rcvNxt + 1 + attacker.nextInt(60_000); // in the window, not exact
            }
            if (seq == rcvNxt) {
                seq++;
            }
            inject(CLIENT, c.localPort(), TcpFlags.RST, seq, 0, List.of());
        }
        long seconds = (now - start) / SEC + 1;
        assertEquals(TcpState.ESTABLISHED, s.state());
        assertEquals(TcpState.ESTABLISHED, c.state());
        assertTrue(server.stats().challengeAcks() <= 10 * seconds, "challenge ACKs throttled: "
                + server.stats().challengeAcks() + " in " + seconds + " s");
        assertTrue(toClient - ackBefore <= 10 * seconds, "at most 10 answers per second reached the client");
        transfer(c, s, 100_000);
        transfer(s, c, 100_000);
    }

    /**
     * 100,000 blind ACKs (and ACK-bearing data) on the live 4-tuple with random acknowledgment
     * numbers: none may acknowledge data that was never sent or move SND.UNA, none may insert
     * data (RFC 5961 §5 ACK range check, RFC 9293 §3.10.7.4); the server answers at most once per
     * segment, and the connection then carries data byte-exact both ways.
     */
    @Test
    void ackFlood_changesNothing() {
        TcpConnection[] cs = establish();
        TcpConnection c = cs[0];
        TcpConnection s = cs[1];
        TcpConnection.Info before = s.info();
        long start = now;
        for (int i = 0; i < 100_000; i++) {
            advance(start + i * (SEC / 10_000));
            int seq = i % 2 == 0 ? before.rcvNxt() : attacker.nextInt();
            inject(CLIENT, c.localPort(), TcpFlags.ACK, seq, attacker.nextInt(), List.of());
        }
        long answers = toClient;
        long seconds = (now - start) / SEC + 1;
        TcpConnection.Info after = s.info();
        // Out-of-window segments are answered with an ACK (RFC 9293 §3.10.7.4 first), at most one
        // per 500 ms (tcp_invalid_ratelimit); bad ACKs in the window draw challenge ACKs (RFC 5961
        // §5.2), at most 10 per second (§7). Without the limit, half the segments drew an answer.
        assertTrue(answers <= 12 * seconds + 1, "answers " + answers + " for 100,000 injected segments in " + seconds + " s");
        assertTrue(server.stats().outOfWindowAcksSuppressed() > 49_000, "suppressed: "
                + server.stats().outOfWindowAcksSuppressed());
        assertEquals(TcpState.ESTABLISHED, s.state());
        assertEquals(before.sndUna(), after.sndUna(), "SND.UNA unmoved");
        assertEquals(before.sndNxt(), after.sndNxt(), "SND.NXT unmoved");
        assertEquals(before.rcvNxt(), after.rcvNxt(), "RCV.NXT unmoved");
        assertEquals(0, s.readableBytes(), "nothing inserted");
        transfer(c, s, 100_000);
        transfer(s, c, 100_000);
        System.out.println("ACK flood: " + answers + " answers to 100,000 blind ACKs; " + server.stats());
    }

    /**
     * A flood of segments for connections that do not exist (random 4-tuples, every flag mix):
     * the server creates nothing, holds nothing, and never answers a RST.
     */
    @Test
    void noConnectionFlood_createsNothing() {
        server.listen(PORT, BACKLOG);
        long rstIn = 0;
        for (int i = 0; i < 100_000; i++) {
            int flags = attacker.nextInt(256) & ~TcpFlags.SYN;
            if ((flags & TcpFlags.RST) != 0) {
                rstIn++;
            }
            inject(randomSpoofedAddress(), 1024 + attacker.nextInt(60_000), flags, attacker.nextInt(),
                    attacker.nextInt(), List.of());
        }
        assertEquals(0, server.connectionCount());
        assertTrue(server.stats().rstsSent() <= 100_000 - rstIn, "a RST is never answered with a RST");
    }
}
