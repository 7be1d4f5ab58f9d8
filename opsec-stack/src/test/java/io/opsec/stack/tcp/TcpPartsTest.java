package io.opsec.stack.tcp;

import io.opsec.stack.testing.TrackingAllocator;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.TcpOption.SackBlock;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The parts of the connection machine on their own: RTT, congestion control, scoreboard, buffers, ISNs. */
class TcpPartsTest {
    static final long MS = 1_000_000L;

    // ----------------------------------------------------------------------------- RFC 6298

    @Test
    void rtt_firstSample_setsSrttAndHalfVariance() {
        RttEstimator r = new RttEstimator(1000 * MS, 200 * MS, 120_000 * MS);
        assertEquals(1000 * MS, r.rto(), "RFC 6298 §2.1 initial RTO");
        r.sample(100 * MS);
        assertEquals(100 * MS, r.srtt());
        assertEquals(50 * MS, r.rttvar());
        assertEquals(300 * MS, r.rto(), "SRTT + 4*RTTVAR = 300 ms, above the floor");
    }

    @Test
    void rtt_laterSamples_smoothWithOneEighthAndOneQuarter() {
        RttEstimator r = new RttEstimator(1000 * MS, 200 * MS, 120_000 * MS);
        r.sample(100 * MS);
        r.sample(200 * MS);
        assertEquals((7 * 100 + 200) * MS / 8, r.srtt());
        assertEquals((3 * 50 + 100) * MS / 4, r.rttvar());
    }

    @Test
    void rtt_shortPath_floorAppliesToTheVarianceTerm() {
        RttEstimator r = new RttEstimator(1000 * MS, 200 * MS, 120_000 * MS);
        r.sample(10 * MS);
        assertEquals(210 * MS, r.rto(), "DEVIATION: SRTT + max(4*RTTVAR, 200 ms)");
    }

    @Test
    void rtt_backoff_doublesUpToTheMaximumAndASampleEndsIt() {
        RttEstimator r = new RttEstimator(1000 * MS, 200 * MS, 60_000 * MS);
        for (int i = 0; i < 10; i++) {
            r.backoff();
        }
        assertEquals(60_000 * MS, r.rto(), "RFC 6298 §5.5 with §2.5's maximum");
        r.sample(100 * MS);
        assertEquals(0, r.backoffCount(), "RFC 6298 §5.7");
        assertEquals(300 * MS, r.rto());
    }

    // ----------------------------------------------------------------------------- RFC 5681 / 9438

    @Test
    void newReno_slowStart_thenCongestionAvoidance() {
        NewReno c = new NewReno(1000, 10_000);
        c.onAck(1000, 0, 0);
        assertEquals(11_000, c.cwnd());
        c.onAck(5000, 0, 0);
        // DEVIATION from RFC 3465's L = 2 SMSS, as Linux: a stretch ACK counts in full.
        assertEquals(16_000, c.cwnd(), "every byte a slow-start ACK acknowledges counts");
        c.onCongestionEvent(20_000, 0);
        assertEquals(10_000, c.ssthresh());
        assertEquals(10_000, c.cwnd());
        for (int i = 0; i < 10; i++) {
            c.onAck(1000, 0, 0);
        }
        assertEquals(11_000, c.cwnd(), "one SMSS per window acknowledged");
        c.onRetransmitTimeout(8000, 0);
        assertEquals(1000, c.cwnd());
        assertEquals(4000, c.ssthresh());
        c.onAck(5000, 0, 0);
        assertEquals(4000, c.cwnd(), "slow start stops at ssthresh; the rest counts toward avoidance");
        c.onRetransmitTimeout(1000, 0);
        assertEquals(2000, c.ssthresh(), "never below 2 SMSS");
    }

    @Test
    void newReno_recoveryExit_andIdleRestart() {
        NewReno c = new NewReno(1000, 10_000);
        c.onCongestionEvent(40_000, 0);
        c.onRecoveryExit(5000, 0);
        assertEquals(6000, c.cwnd(), "RFC 6582: min(ssthresh, max(FlightSize, SMSS) + SMSS)");
        c.cwnd = 50_000;
        c.onIdleRestart(0);
        assertEquals(10_000, c.cwnd(), "RFC 5681 §4.1");
    }

    @Test
    void cubic_reducesByBetaAndRegrowsTowardsWmax() {
        Cubic c = new Cubic(1000, 10_000);
        c.ssthresh = 0; // congestion avoidance from the start
        c.cwnd = 100_000;
        c.onCongestionEvent(100_000, 0);
        assertEquals(70_000, c.cwnd(), "RFC 9438 §4.6: beta 0.7");
        long t = 0;
        long before = c.cwnd();
        for (int i = 0; i < 2000; i++) {
            t += 10 * MS;
            c.onAck(1000, t, 20 * MS);
        }
        assertTrue(c.cwnd() > before, "grows");
        // After K = cbrt(Wmax (1 - beta) / C) = cbrt(100 * 0.3 / 0.4) ~ 4.2 s the window is back at Wmax.
        assertTrue(c.cwnd() >= 100_000, "reached Wmax after K: " + c.cwnd());
    }

    @Test
    void cubic_fastConvergence_lowersWmaxWhenLossComesEarly() {
        Cubic c = new Cubic(1000, 10_000);
        c.cwnd = 100_000;
        c.onCongestionEvent(100_000, 0);
        c.cwnd = 80_000;
        c.onCongestionEvent(80_000, 0);
        assertEquals(56_000, c.cwnd());
    }

    @Test
    void cubic_slowStart_countsEveryAcknowledgedByte_upToSsthresh_andUndoRestores() {
        Cubic c = new Cubic(1000, 10_000);
        c.onAck(5000, 0, 0);
        assertEquals(15_000, c.cwnd(), "no RFC 3465 L (DEVIATION, as Linux)");
        c.onCongestionEvent(15_000, 0);
        assertEquals(10_500, c.cwnd());
        c.undo(15_000, Long.MAX_VALUE / 4);
        assertEquals(15_000, c.cwnd(), "RFC 4015: the window from before the spurious event");
        assertEquals(Long.MAX_VALUE / 4, c.ssthresh());
        c.onCongestionEvent(15_000, 0);
        c.onAck(9000, 0, 0);
        assertTrue(c.cwnd() < 12_000, "at ssthresh: congestion avoidance, not slow start: " + c.cwnd());
    }

    // ----------------------------------------------------------------------------- RFC 6675 scoreboard

    @Test
    void scoreboard_mergesAndMeasures() {
        Scoreboard s = new Scoreboard();
        int una = 1000;
        assertEquals(100, s.update(List.of(new SackBlock(1100, 1200)), una, 5000));
        assertEquals(100, s.update(List.of(new SackBlock(1200, 1300)), una, 5000));
        assertEquals(0, s.update(List.of(new SackBlock(1100, 1300)), una, 5000), "nothing new");
        assertEquals(0, s.update(List.of(new SackBlock(4000, 6000)), una, 5000), "beyond SND.NXT: ignored");
        assertEquals(0, s.update(List.of(new SackBlock(500, 900)), una, 5000), "below SND.UNA: ignored (D-SACK)");
        assertEquals(200, s.sackedBetween(1000, 5000));
        assertEquals(1300, s.nextUnsacked(1100, 5000));
        assertEquals(1000, s.nextUnsacked(1000, 5000));
        assertEquals(1100, s.nextSacked(1000, 5000));
        s.discardBelow(1150);
        assertEquals(150, s.sackedBetween(1000, 5000));
    }

    @Test
    void scoreboard_isLost_byBytesOrByRanges() {
        Scoreboard s = new Scoreboard();
        s.update(List.of(new SackBlock(2000, 3000), new SackBlock(3000, 3999)), 1000, 9000);
        assertFalse(s.isLost(1000, 1000, 3), "1999 bytes is not more than 2 SMSS");
        s.update(List.of(new SackBlock(4000, 4002)), 1000, 9000);
        assertTrue(s.isLost(1000, 1000, 3), "2001 bytes above");
        Scoreboard r = new Scoreboard();
        r.update(List.of(new SackBlock(2000, 2001), new SackBlock(3000, 3001), new SackBlock(4000, 4001)), 1000, 9000);
        assertTrue(r.isLost(1000, 1000, 3), "three discontiguous ranges above");
        assertEquals(2000, r.lostBoundary(1000, 1000, 3));
    }

    @Test
    void scoreboard_worksAcrossTheWrap() {
        Scoreboard s = new Scoreboard();
        int una = -1000;
        s.update(List.of(new SackBlock(-500, 500)), una, 2000);
        assertEquals(1000, s.sackedBetween(una, 2000));
        assertEquals(500, s.nextUnsacked(-500, 2000));
    }

    // ----------------------------------------------------------------------------- buffers

    @Test
    void sendQueue_slicesAcrossChunksAndDiscards() {
        TrackingAllocator alloc = new TrackingAllocator();
        SendQueue q = new SendQueue(alloc, 100_000);
        byte[] data = new byte[40_000];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31);
        ByteBuf src = alloc.buffer().writeBytes(data);
        assertEquals(40_000, q.append(src));
        assertEquals(0, src.readableBytes(), "reader index advanced");
        src.release();
        ByteBuf s = q.slice(16_000, 1000); // spans the 16 KiB chunk boundary
        for (int i = 0; i < 1000; i++) {
            assertEquals(data[16_000 + i], s.getByte(s.readerIndex() + i));
        }
        s.release();
        q.discard(20_000);
        ByteBuf t = q.slice(0, 10);
        assertEquals(data[20_000], t.getByte(t.readerIndex()));
        t.release();
        q.release();
        assertEquals(0, alloc.live());
    }

    @Test
    void sendQueue_boundedByCapacity() {
        TrackingAllocator alloc = new TrackingAllocator();
        SendQueue q = new SendQueue(alloc, 100);
        ByteBuf src = alloc.buffer().writeZero(150);
        assertEquals(100, q.append(src));
        assertEquals(50, src.readableBytes());
        assertEquals(0, q.append(src));
        src.release();
        q.release();
        assertEquals(0, alloc.live());
    }

    @Test
    void receiveBuffer_reassemblesAndReportsRecentBlocksFirst() {
        TrackingAllocator alloc = new TrackingAllocator();
        ReceiveBuffer b = new ReceiveBuffer(alloc, 10_000);
        ByteBuf x = alloc.buffer().writeBytes("0123456789".getBytes());
        b.insertOutOfOrder(105, x.slice(5, 5), 100);
        b.insertOutOfOrder(102, x.slice(2, 2), 100);
        assertEquals(List.of(new SackBlock(102, 104), new SackBlock(105, 110)), b.sackBlocks(4));
        b.insertOutOfOrder(104, x.slice(4, 1), 100);
        assertEquals(List.of(new SackBlock(102, 110)), b.sackBlocks(4));
        int rcvNxt = 100 + b.appendInOrder(x.slice(0, 3));
        rcvNxt = b.drainInOrder(rcvNxt);
        assertEquals(110, rcvNxt);
        ByteBuf r = b.read(100);
        assertEquals("0123456789", r.toString(java.nio.charset.StandardCharsets.US_ASCII));
        r.release();
        assertNull(b.read(100));
        x.release();
        b.release();
        assertEquals(0, alloc.live());
    }

    // ----------------------------------------------------------------------------- RFC 6528, 6056

    @Test
    void sipHash_matchesTheReferenceVector() {
        long k0 = 0x0706050403020100L;
        long k1 = 0x0f0e0d0c0b0a0908L;
        // Reference implementation, key 00..0f, message 00..0f: vectors[16].
        assertEquals(0x3f2acc7f57c29bdbL, IsnGenerator.SipHash.hash(k0, k1, k0, k1));
    }

    @Test
    void isn_advancesWithTheClockAndDiffersPerTuple() {
        byte[] secret = new byte[32];
        secret[0] = 1;
        IsnGenerator g = IsnGenerator.rfc6528(secret);
        int a0 = g.isn(1, 1000, 2, 80, 0);
        int a1 = g.isn(1, 1000, 2, 80, 4_000_000); // 4 ms later: +1000 ticks of 4 us
        assertEquals(1000, a1 - a0, "RFC 6528 M: a 4 microsecond clock");
        assertNotEquals(a0, g.isn(1, 1001, 2, 80, 0));
        byte[] other = secret.clone();
        other[31] = 9;
        assertEquals(a0, IsnGenerator.rfc6528(other).isn(1, 1000, 2, 80, 0), "the ISN half of the key");
        other[0] = 2;
        assertNotEquals(a0, IsnGenerator.rfc6528(other).isn(1, 1000, 2, 80, 0));
        assertThrows(IllegalArgumentException.class, () -> IsnGenerator.rfc6528(new byte[16]));
    }

    @Test
    void ephemeralPorts_exhaustedRangeFailsLoudly() {
        TcpConfig cfg = TcpConfig.builder().ephemeralPorts(60000, 60002).build();
        try (TcpFixture f = new TcpFixture(cfg)) {
            for (int i = 0; i < 3; i++) {
                f.ep.connect(TcpFixture.REMOTE, 80, 0, 0);
            }
            assertThrows(IllegalStateException.class, () -> f.ep.connect(TcpFixture.REMOTE, 80, 0, 0));
            f.ep.connect(TcpFixture.REMOTE, 81, 0, 0); // another peer port: the same local ports are free
        }
    }

    @Test
    void connect_sameFourTuple_isRefused_andListenTwice_isRefused() {
        try (TcpFixture f = new TcpFixture()) {
            f.ep.connect(TcpFixture.REMOTE, 80, 5555, 0);
            assertThrows(IllegalStateException.class, () -> f.ep.connect(TcpFixture.REMOTE, 80, 5555, 0));
            f.ep.listen(80, 1);
            assertThrows(IllegalStateException.class, () -> f.ep.listen(80, 1));
        }
    }

    @Test
    void config_rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> TcpConfig.builder().mtu(20).build());
        assertThrows(IllegalArgumentException.class,
                () -> TcpConfig.builder().delayedAck(java.time.Duration.ofMillis(600)).build());
        assertThrows(IllegalArgumentException.class,
                () -> TcpConfig.builder().minRto(java.time.Duration.ofSeconds(5)).build());
        assertEquals(1460, TcpConfig.defaults().mss());
    }

    @Test
    void states_printAsTheRfcSpellsThem() {
        assertEquals("SYN-RECEIVED", TcpState.SYN_RECEIVED.toString());
        assertEquals("TIME-WAIT", TcpState.TIME_WAIT.toString());
        assertEquals(11, TcpState.values().length);
    }
}
