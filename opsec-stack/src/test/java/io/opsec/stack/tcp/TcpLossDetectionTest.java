package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.at;
import static io.opsec.stack.tcp.TcpOptionsTest.MSS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOption.Nop;
import io.opsec.stack.wire.TcpOption.Sack;
import io.opsec.stack.wire.TcpOption.SackBlock;
import io.opsec.stack.wire.TcpOption.Timestamps;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The sender's loss detection beyond RFC 6675: D-SACK (RFC 2883) never counts as news of a
 * loss, RACK (RFC 8985) decides loss by time with a reordering window, and a recovery or RTO
 * that proves spurious, by D-SACK (RFC 3708) or by timestamps (RFC 3522), is undone (RFC 4015).
 */
class TcpLossDetectionTest {
    /** Payload of one segment on a connection with timestamps: 1460 less 12 bytes of option. */
    static final int TS_SEG = 1448;

    static TcpFixture withSack() {
        return TcpOptionsTest.withSack();
    }

    /**
     * SACK and timestamps, no tail loss probes (see TcpOptionsTest.withSack); the peer's TSval
     * starts at 101, ours is the clock in ms.
     */
    static TcpFixture withSackAndTimestamps() {
        return new TcpFixture(TcpConfig.builder().tailLossProbe(false).build())
                .established(List.of(MSS, new TcpOption.SackPermitted(), new Timestamps(100, 0)),
                        List.of(new Nop(), new Nop(), new Timestamps(101, 0)));
    }

    /** SACK blocks, then (for timestamped connections) the peer's timestamps. */
    static TcpOption[] opts(Timestamps ts, int... edges) {
        List<TcpOption> o = new ArrayList<>();
        if (ts != null) {
            o.add(new Nop());
            o.add(new Nop());
            o.add(ts);
        }
        if (edges.length > 0) {
            List<SackBlock> blocks = new ArrayList<>();
            for (int i = 0; i < edges.length; i += 2) {
                blocks.add(new SackBlock(edges[i], edges[i + 1]));
            }
            o.add(new Nop());
            o.add(new Nop());
            o.add(new Sack(blocks));
        }
        return o.toArray(new TcpOption[0]);
    }

    // ----------------------------------------------------------------------------- D-SACK

    @Test
    void dsackOnlyDuplicateAcks_areNotCountedAsNewsOfLoss() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * 1460);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s + 1460));
            // The first segment arrived twice (the network duplicated it): four duplicate ACKs,
            // each with only a D-SACK below the cumulative ACK (RFC 2883 §4.1.1). RFC 6675 §2:
            // they report no new data, so none counts toward DupThresh.
            for (int i = 0; i < 4; i++) {
                f.deliver(at(21 + i), f.seg().seq(f.remoteIss + 1).ack(s + 1460).opts(opts(null, s, s + 1460)));
            }
            f.expectNothing(at(25));
            assertEquals(4, f.ep.stats().dsacks());
            assertEquals(0, f.ep.stats().segmentsRetransmitted());
            assertFalse(f.conn.info().inRecovery());
        }
    }

    @Test
    void dsackWithinTheSecondBlock_isReportedNotRecordedAsNewData() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * 1460);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 2920)));
            long pipe = f.conn.info().pipe();
            // RFC 2883 §4.1.2: a first block inside the second reports a duplicate of SACKed data.
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 2920, s + 1460,
                    s + 2920)));
            assertEquals(1, f.ep.stats().dsacks());
            assertEquals(pipe, f.conn.info().pipe());
            f.expectNothing(at(21));
        }
    }

    @Test
    void dsackForEveryRetransmission_undoesTheRecovery() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * 1460);
            f.drain();
            long cwndBefore = f.conn.info().cwnd();
            // Segment 1 is late, not lost: three SACKed above it, RACK retransmits it at once.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 4 * 1460)));
            f.expect(at(20), f.seg().seq(s).len(1460));
            assertTrue(f.conn.info().inRecovery());
            assertTrue(f.conn.info().cwnd() < cwndBefore, "halved");
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s + 6 * 1460));
            assertFalse(f.conn.info().inRecovery());
            long reduced = f.conn.info().cwnd();
            assertTrue(reduced < cwndBefore);
            // The retransmission arrives too: the receiver reports it with a D-SACK. That was the
            // episode's only retransmission, so all were spurious (RFC 3708 §2): undo (RFC 4015).
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(s + 6 * 1460).opts(opts(null, s, s + 1460)));
            assertEquals(1, f.ep.stats().spuriousRecoveries());
            assertTrue(f.conn.info().cwnd() >= cwndBefore, "cwnd " + f.conn.info().cwnd() + " restored to "
                    + cwndBefore);
            assertEquals(Long.MAX_VALUE / 4, f.conn.info().ssthresh(), "ssthresh back to what it was");
        }
    }

    @Test
    void dsackForSomeRetransmissionsOnly_keepsTheReduction() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 8 * 1460);
            f.drain();
            // Segments 1 and 3 missing, 2 and 4-8 SACKed: RACK retransmits both.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 3 * 1460, s + 8 * 1460,
                    s + 1460, s + 2920)));
            f.expect(at(20), f.seg().seq(s).len(1460));
            f.expect(at(20), f.seg().seq(s + 2920).len(1460));
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(s + 8 * 1460));
            long reduced = f.conn.info().cwnd();
            // Only the first retransmission is reported twice: the second hole was a real loss.
            f.deliver(at(31), f.seg().seq(f.remoteIss + 1).ack(s + 8 * 1460).opts(opts(null, s, s + 1460)));
            assertEquals(0, f.ep.stats().spuriousRecoveries());
            assertEquals(reduced, f.conn.info().cwnd());
        }
    }

    // ----------------------------------------------------------------------------- timestamps (Eifel)

    @Test
    void eifel_echoOlderThanTheRetransmission_undoesTheRecovery() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * TS_SEG);
            f.drain();
            long cwndBefore = f.conn.info().cwnd();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(102, 10), s + TS_SEG, s + 4 * TS_SEG)));
            assertEquals(20, f.expect(at(20), f.seg().seq(s).len(TS_SEG)).option(Timestamps.class).tsVal());
            // The ACK that fills the hole echoes TSval 10, the original's, not 20, the
            // retransmission's: the original arrived, the retransmission was spurious (RFC 3522 §2).
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s + 6 * TS_SEG).opts(opts(new Timestamps(103, 10))));
            assertEquals(1, f.ep.stats().spuriousRecoveries());
            assertFalse(f.conn.info().inRecovery());
            assertTrue(f.conn.info().cwnd() >= cwndBefore);
        }
    }

    @Test
    void eifel_echoOfTheRetransmission_keepsTheReduction() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * TS_SEG);
            f.drain();
            long cwndBefore = f.conn.info().cwnd();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(102, 10), s + TS_SEG, s + 4 * TS_SEG)));
            f.expect(at(20), f.seg().seq(s).len(TS_SEG));
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(s + 6 * TS_SEG).opts(opts(new Timestamps(103, 20))));
            assertEquals(0, f.ep.stats().spuriousRecoveries());
            assertTrue(f.conn.info().cwnd() < cwndBefore);
        }
    }

    @Test
    void eifel_spuriousRto_sendsNewDataInsteadOfTheWholeFlightAgain() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 20 * TS_SEG);
            for (int i = 0; i < 10; i++) {
                f.expect(at(10), f.seg().seq(s + i * TS_SEG).len(TS_SEG)); // IW10
            }
            // The ACKs are late (a stalled path or a starved receiver): the RTO (1 s, no RTT
            // sample yet) fires at 1010 ms.
            TcpFixture.Got rto = f.expect(at(1010), f.seg().seq(s).len(TS_SEG));
            assertEquals(1010, rto.option(Timestamps.class).tsVal());
            // The ACK of the first segment echoes TSval 10: the original's. The timeout was spurious
            // (RFC 3522): the window comes back and, instead of going back N (resending segments 2
            // to 10, which are still on their way), new data follows (RFC 4015 §3).
            f.deliver(at(1015), f.seg().seq(f.remoteIss + 1).ack(s + TS_SEG).opts(opts(new Timestamps(102, 10))));
            assertEquals(1, f.ep.stats().spuriousRecoveries());
            f.expect(at(1015), f.seg().seq(s + 10 * TS_SEG).len(TS_SEG));
            assertEquals(1, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void rto_echoOfTheRetransmission_goesBackN() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 20 * TS_SEG);
            f.drain();
            f.expect(at(1010), f.seg().seq(s).len(TS_SEG));
            // Echoing the retransmission's TSval: a real loss of the whole flight; slow start resends it.
            f.deliver(at(1015), f.seg().seq(f.remoteIss + 1).ack(s + TS_SEG).opts(opts(new Timestamps(102, 1010))));
            assertEquals(0, f.ep.stats().spuriousRecoveries());
            f.expect(at(1015), f.seg().seq(s + TS_SEG).len(TS_SEG));
        }
    }

    // ----------------------------------------------------------------------------- RACK

    @Test
    void rack_oneSegmentSacked_waitsAQuarterOfTheMinimumRtt() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 4 * 1460);
            f.drain();
            // Segment 4 SACKed 10 ms after it was sent: min_RTT 10 ms, reordering window 2.5 ms.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 3 * 1460, s + 4 * 1460)));
            f.expectNothing(at(22));
            // RFC 8985 §6.2 step 5: at 10 + 10 + 2.5 ms the three holes are lost; the reordering
            // timer fires and fast recovery retransmits (the first at once, the rest by the pipe).
            TcpFixture.Got g = f.expect(at(23), f.seg().seq(s).len(1460));
            assertTrue(f.conn.info().inRecovery());
            assertEquals(1, f.ep.stats().fastRetransmits());
            assertTrue(g != null);
        }
    }

    @Test
    void rack_holeFilledWithinTheReorderingWindow_isNotRetransmitted() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 4 * 1460);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 2 * 1460)));
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s + 2 * 1460));
            f.deliver(at(22), f.seg().seq(f.remoteIss + 1).ack(s + 4 * 1460));
            f.expectNothing(at(100));
            assertEquals(0, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void rack_afterReorderingIsSeen_threeSackedSegmentsNoLongerMeanLoss() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 4 * 1460);
            f.drain();
            // Segment 2 arrives before segment 1, which was never retransmitted: reordering seen
            // (RFC 8985 §6.2 step 3).
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 2 * 1460)));
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s + 4 * 1460));
            f.send(at(30), 6 * 1460);
            f.drain();
            // Now three segments SACKed above a hole do not make the window 0 (step 4): the hole
            // gets min(min_RTT / 4, SRTT) after RACK.rtt (here SRTT, 1.4 ms, since the handshake
            // measured 0), and it is filled in time.
            f.deliver(at(40), f.seg().seq(f.remoteIss + 1).ack(s + 4 * 1460)
                    .opts(opts(null, s + 5 * 1460, s + 8 * 1460)));
            f.expectNothing(at(41));
            f.deliver(at(41), f.seg().seq(f.remoteIss + 1).ack(s + 10 * 1460));
            f.expectNothing(at(100));
            assertEquals(0, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void rack_lostRetransmission_isSentAgainWithoutWaitingForTheRto() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 14 * 1460);
            f.drain(); // IW10: segments 1-10; 11-14 wait
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 4 * 1460)));
            f.expect(at(20), f.seg().seq(s).len(1460));
            // Segments 2-10 SACKed: the pipe lets the four new segments out at 22 ms.
            f.deliver(at(22), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 10 * 1460)));
            for (int i = 10; i < 14; i++) {
                f.expect(at(22), f.seg().seq(s + i * 1460).len(1460));
            }
            // Segment 11, sent at 22, is SACKed at 40; the retransmission of segment 1, sent at 20,
            // is not: it was sent before a delivered segment and RACK.rtt (18 ms) ago, so it is
            // lost too (RFC 8985 §2.2, §6.2 step 5) and goes again now, not at the RTO.
            f.deliver(at(40), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 11 * 1460)));
            f.expect(at(40), f.seg().seq(s).len(1460));
            assertEquals(2, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void prr_manySegmentsMarkedLostAtOnce_goOutAtSlowStartPace() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 10 * 1460);
            f.drain();
            // Only the last segment is SACKed: at 22.5 ms RACK marks the nine before it lost at
            // once. Recovery halves the window to 5 segments, and the pipe (1 segment in flight)
            // is far below it; RFC 6675 alone would send 4 more retransmissions at once, PRR-SSRB
            // (RFC 6937 §3) allows one segment more than was delivered (nothing yet): 2 in all.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 9 * 1460, s + 10 * 1460)));
            f.expect(at(23), f.seg().seq(s).len(1460));
            f.expect(at(23), f.seg().seq(s + 1460).len(1460));
            f.expectNothing(at(29));
            // Each ACK that delivers a segment lets two out (delivered + 1 segment), up to ssthresh.
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(s + 1460).opts(opts(null, s + 9 * 1460, s + 10 * 1460)));
            f.expect(at(30), f.seg().seq(s + 2 * 1460).len(1460));
            f.expect(at(30), f.seg().seq(s + 3 * 1460).len(1460));
            f.expectNothing(at(30));
        }
    }

    @Test
    void rack_spuriousRecovery_widensTheWindowToTheReorderingItMeasured() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * TS_SEG);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(102, 10), s + TS_SEG, s + 4 * TS_SEG)));
            f.expect(at(20), f.seg().seq(s).len(TS_SEG));
            // The original was 8 ms late, not lost (RFC 3522): undone, and the path is known to
            // reorder by 8 ms more than the window (0) allowed.
            f.deliver(at(28), f.seg().seq(f.remoteIss + 1).ack(s + 6 * TS_SEG).opts(opts(new Timestamps(103, 10))));
            assertEquals(1, f.ep.stats().spuriousRecoveries());
            int t = s + 6 * TS_SEG;
            f.send(at(30), 6 * TS_SEG);
            f.drain();
            f.deliver(at(40), f.seg().seq(f.remoteIss + 1).ack(t)
                    .opts(opts(new Timestamps(104, 30), t + TS_SEG, t + 4 * TS_SEG)));
            // The window is now 8 ms (min_RTT / 4 x 2 would be 5 ms): the hole's time is up at
            // 30 + 10 + 8 = 48 ms, and it is filled at 47.
            f.expectNothing(at(47));
            f.deliver(at(47), f.seg().seq(f.remoteIss + 1).ack(t + 6 * TS_SEG).opts(opts(new Timestamps(105, 30))));
            f.expectNothing(at(100));
            assertEquals(1, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void batch_aStaleSackThenTheFullAck_retransmitNothing() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * 1460);
            f.drain();
            // The runtime fell behind: both ACKs wait in the link's queue and are taken in one
            // batch. Alone, the first (three SACKed above segment 1) retransmits segment 1; but the
            // second acknowledges everything, so with the whole batch known nothing is lost.
            f.advance(at(20));
            f.ep.beginBatch();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(opts(null, s + 1460, s + 4 * 1460)));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s + 6 * 1460));
            f.ep.endBatch(at(20));
            f.expectNothing(at(100));
            assertEquals(0, f.ep.stats().segmentsRetransmitted());
            assertFalse(f.conn.info().inRecovery());
        }
    }

    // ----------------------------------------------------------------------------- TLP

    @Test
    void tlp_tailLoss_isProbedAfterThePtoNotTheRto_andTheRepairReducesTheWindow() {
        try (TcpFixture f = TcpOptionsTest.withSackAndProbes()) {
            int s = f.iss + 1;
            f.send(at(10), 4 * 1460);
            f.drain();
            long cwnd = f.conn.info().cwnd();
            // No ACK at all (the last segment, or every ACK, was lost). RFC 8985 §7.2: PTO = 2 SRTT,
            // at least 10 ms (the handshake measured 0); nothing is unsent, so the probe is the
            // last segment again (§7.3), 190 ms before the RTO would have fired.
            f.expectNothing(at(19));
            f.expect(at(20), f.seg().seq(s + 3 * 1460).len(1460));
            f.expectNothing(at(25));
            // The probe's answer acknowledges everything with no D-SACK: it repaired a tail loss
            // (§7.4.2): the window is reduced as for a fast recovery.
            f.deliver(at(25), f.seg().seq(f.remoteIss + 1).ack(s + 4 * 1460));
            assertEquals(1, f.ep.stats().tailLossProbes());
            assertEquals(1, f.ep.stats().tailLossesRepaired());
            assertTrue(f.conn.info().cwnd() < cwnd, "cwnd " + f.conn.info().cwnd() + " after " + cwnd);
        }
    }

    @Test
    void tlp_probeAnsweredWithADsack_foundNothingLost() {
        try (TcpFixture f = TcpOptionsTest.withSackAndProbes()) {
            int s = f.iss + 1;
            f.send(at(10), 4 * 1460);
            f.drain();
            long cwnd = f.conn.info().cwnd();
            f.expect(at(20), f.seg().seq(s + 3 * 1460).len(1460));
            // Only the ACKs were lost: the receiver had everything and reports the probe twice.
            f.deliver(at(25), f.seg().seq(f.remoteIss + 1).ack(s + 4 * 1460).opts(opts(null, s + 3 * 1460,
                    s + 4 * 1460)));
            assertEquals(0, f.ep.stats().tailLossesRepaired());
            assertTrue(f.conn.info().cwnd() >= cwnd);
        }
    }

    @Test
    void tlp_withUnsentData_probesWithANewSegment_whateverCwndSays() {
        try (TcpFixture f = TcpOptionsTest.withSackAndProbes()) {
            int s = f.iss + 1;
            f.send(at(10), 12 * 1460);
            for (int i = 0; i < 10; i++) {
                f.expect(at(10), f.seg().seq(s + i * 1460).len(1460)); // IW10; two segments wait for cwnd
            }
            f.expect(at(20), f.seg().seq(s + 10 * 1460).len(1460)); // §7.3: new data as the probe
            f.expectNothing(at(30));
        }
    }

    // ----------------------------------------------------------------------------- receiver, PAWS

    @Test
    void receiver_duplicateSegment_isReportedInADsackBlockOnce() {
        try (TcpFixture f = withSack()) {
            int r = f.remoteIss + 1;
            f.deliver(at(10), f.seg().seq(r).ack(f.iss + 1).len(100));
            f.deliver(at(20), f.seg().seq(r + 100).ack(f.iss + 1).len(100));
            f.expect(at(210), f.seg().ack(r + 200).opts(List.of())); // the delayed ACK
            // The first segment again: RFC 2883 §4, the ACK reports it in a D-SACK block, at once.
            f.deliver(at(300), f.seg().seq(r).ack(f.iss + 1).len(100));
            f.expect(at(300), f.seg().ack(r + 200).opts(opts(null, r, r + 100)));
            // ... and only once: the next ACK (for out-of-order data) has the ordinary block alone.
            f.deliver(at(310), f.seg().seq(r + 300).ack(f.iss + 1).len(100));
            f.expect(at(310), f.seg().ack(r + 200).opts(opts(null, r + 300, r + 400)));
        }
    }

    @Test
    void paws_reorderedDuplicateAck_isStillReadForItsSackBlocks() {
        try (TcpFixture f = withSackAndTimestamps()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * TS_SEG);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(105, 10), s + 3 * TS_SEG, s + 4 * TS_SEG)));
            // Two ACKs the receiver sent earlier (TSval 103, 104) arrive after it: RFC 7323 §5.3 R1
            // would drop them; they are pure duplicate ACKs, so (as Linux) their SACK blocks count.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(103, 10), s + 1 * TS_SEG, s + 2 * TS_SEG, s + 3 * TS_SEG, s + 4 * TS_SEG)));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s)
                    .opts(opts(new Timestamps(104, 10), s + 1 * TS_SEG, s + 4 * TS_SEG)));
            assertEquals(0, f.ep.stats().pawsRejected());
            // Segments 2 to 4 SACKed: 3 of the 6 still in the pipe (without them, 5 of 6).
            assertEquals(3 * TS_SEG, f.conn.info().pipe());
        }
    }
}
