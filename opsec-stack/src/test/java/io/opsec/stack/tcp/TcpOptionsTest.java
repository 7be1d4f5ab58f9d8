package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOption.Nop;
import io.opsec.stack.wire.TcpOption.Sack;
import io.opsec.stack.wire.TcpOption.SackBlock;
import io.opsec.stack.wire.TcpOption.Timestamps;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RFC 7323 (window scale, timestamps, PAWS), RFC 2018 (SACK) and RFC 6675 (SACK recovery). */
class TcpOptionsTest {
    static final TcpOption MSS = new TcpOption.Mss(1460);

    /**
     * SACK, without tail loss probes: the handshake here measures an RTT of 0, so a probe (RFC 8985
     * §7, at least 10 ms) would come before the ACKs these traces deliver 10 ms after the data. The
     * probe has its own tests (TcpLossDetectionTest, "TLP").
     */
    static TcpFixture withSack() {
        return new TcpFixture(TcpConfig.builder().tailLossProbe(false).build())
                .established(List.of(MSS, new Nop(), new Nop(), new TcpOption.SackPermitted()), List.of());
    }

    /** SACK with the defaults, tail loss probes included. */
    static TcpFixture withSackAndProbes() {
        return new TcpFixture().established(List.of(MSS, new Nop(), new Nop(), new TcpOption.SackPermitted()),
                List.of());
    }

    static TcpFixture withTimestamps() {
        TcpFixture f = new TcpFixture().established(List.of(MSS, new Nop(), new Nop(), new Timestamps(100, 0)),
                List.of(new Nop(), new Nop(), new Timestamps(101, 0)));
        return f;
    }

    // ----------------------------------------------------------------------------- window scale

    @Test
    void windowScale_bothOffered_scalesBothWays() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS, new Nop(), new TcpOption.WindowScale(2)));
            f.expect(at(0), f.seg().flags(SYN | ACK).win(65535).opts(MSS, new Nop(), new TcpOption.WindowScale(3)));
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).win(1000));
            f.conn = f.ep.accept(f.listener);
            assertEquals(4000, f.conn.info().sndWnd(), "1000 << 2");
            f.deliver(at(2), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(1000).payload("x"));
            // The right edge does not move for one byte (receiver SWS) and never moves back; the
            // scaled field is rounded up so the peer's view of it never shrinks (RFC 7323 §2.4).
            f.expect(at(202), f.seg().flags(ACK).win(32768));
        }
    }

    @Test
    void windowScale_onlyWeOffer_noScaling() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(2), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(1000).payload("x"));
            f.expect(at(202), f.seg().flags(ACK).win(65534)); // 65535 without scaling, one byte used
            assertEquals(1000, f.conn.info().sndWnd());
        }
    }

    @Test
    void windowScale_shiftAbove14_isTreatedAs14() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS, new TcpOption.WindowScale(20)));
            f.drain();
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).win(1));
            f.conn = f.ep.accept(f.listener);
            assertEquals(1L << 14, f.conn.info().sndWnd()); // RFC 7323 §2.3
        }
    }

    // ----------------------------------------------------------------------------- timestamps

    @Test
    void timestamps_everySegmentCarriesTsvalAndEchoesTsRecent() {
        try (TcpFixture f = withTimestamps()) {
            f.conn.setNoDelay(true, at(0));
            f.send(at(1000), "abc".getBytes());
            TcpFixture.Got g = f.expect(at(1000), f.seg().payload("abc"));
            assertEquals(new Timestamps(1000, 101), g.option(Timestamps.class));
        }
    }

    @Test
    void timestamps_rttIsMeasuredFromTheEcho() {
        try (TcpFixture f = withTimestamps()) {
            f.send(at(1000), "abc".getBytes());
            f.drain();
            f.deliver(at(1080), f.seg().seq(f.remoteIss + 1).ack(f.iss + 4).opts(new Nop(), new Nop(),
                    new Timestamps(200, 1000)));
            long srtt = f.conn.info().srtt();
            assertTrue(srtt >= at(80) && srtt <= at(81), "srtt " + srtt);
        }
    }

    @Test
    void paws_oldTimestamp_isDroppedAndAcked() {
        try (TcpFixture f = withTimestamps()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("old")
                    .opts(new Nop(), new Nop(), new Timestamps(50, 0)));
            TcpFixture.Got g = f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1));
            assertEquals(101, g.option(Timestamps.class).tsEcr(), "TS.Recent unchanged");
            assertEquals(0, f.conn.readableBytes());
            assertEquals(1, f.ep.stats().pawsRejected());
        }
    }

    @Test
    void paws_newerTimestamp_isAcceptedAndBecomesTsRecent() {
        try (TcpFixture f = withTimestamps()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("new")
                    .opts(new Nop(), new Nop(), new Timestamps(150, 0)));
            assertEquals(3, f.conn.readableBytes());
            TcpFixture.Got g = f.expect(at(210), f.seg().flags(ACK).ack(f.remoteIss + 4));
            assertEquals(150, g.option(Timestamps.class).tsEcr());
        }
    }

    @Test
    void paws_rstWithOldTimestamp_isStillProcessed() {
        try (TcpFixture f = withTimestamps()) {
            f.deliver(at(10), f.seg().flags(TcpFixture.RST).seq(f.remoteIss + 1)
                    .opts(new Nop(), new Nop(), new Timestamps(1, 0)));
            f.assertState(TcpState.CLOSED);
        }
    }

    @Test
    void paws_timestampWrapsAcross2pow31_comparesModulo() {
        try (TcpFixture f = new TcpFixture().established(List.of(MSS, new Nop(), new Nop(),
                new Timestamps(0x7FFFFFF0, 0)), List.of(new Nop(), new Nop(), new Timestamps(0x7FFFFFF0, 0)))) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("w")
                    .opts(new Nop(), new Nop(), new Timestamps(0x80000005, 0)));
            assertEquals(1, f.conn.readableBytes());
        }
    }

    @Test
    void timestamps_segmentWithoutTimestamp_isAccepted() {
        try (TcpFixture f = withTimestamps()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("bare"));
            assertEquals(4, f.conn.readableBytes()); // DEVIATION from RFC 7323 §3.2, as Linux
        }
    }

    // ----------------------------------------------------------------------------- SACK, receiver side

    @Test
    void sack_outOfOrderData_isReportedMostRecentFirst() {
        try (TcpFixture f = withSack()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 101).ack(f.iss + 1).len(100));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1).opts(new Nop(), new Nop(),
                    new Sack(List.of(new SackBlock(f.remoteIss + 101, f.remoteIss + 201)))));
            f.deliver(at(11), f.seg().seq(f.remoteIss + 301).ack(f.iss + 1).len(100));
            f.expect(at(11), f.seg().flags(ACK).ack(f.remoteIss + 1).opts(new Nop(), new Nop(),
                    new Sack(List.of(new SackBlock(f.remoteIss + 301, f.remoteIss + 401),
                            new SackBlock(f.remoteIss + 101, f.remoteIss + 201)))));
            f.deliver(at(12), f.seg().seq(f.remoteIss + 201).ack(f.iss + 1).len(100));
            f.expect(at(12), f.seg().flags(ACK).ack(f.remoteIss + 1).opts(new Nop(), new Nop(),
                    new Sack(List.of(new SackBlock(f.remoteIss + 101, f.remoteIss + 401)))));
            f.deliver(at(13), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(100));
            f.expect(at(13), f.seg().flags(ACK).ack(f.remoteIss + 401).opts()); // no hole, no SACK
        }
    }

    @Test
    void sack_notNegotiated_noBlocks() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 101).ack(f.iss + 1).len(100));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1).opts());
        }
    }

    @Test
    void sack_withTimestamps_fitsThreeBlocks() {
        try (TcpFixture f = new TcpFixture().established(List.of(MSS, new TcpOption.SackPermitted(),
                new Timestamps(100, 0)), List.of(new Nop(), new Nop(), new Timestamps(101, 0)))) {
            for (int i = 0; i < 5; i++) {
                f.deliver(at(10 + i), f.seg().seq(f.remoteIss + 101 + 200 * i).ack(f.iss + 1).len(100)
                        .opts(new Nop(), new Nop(), new Timestamps(102 + i, 0)));
            }
            TcpFixture.Got last = null;
            for (int i = 0; i < 5; i++) {
                last = f.expect(at(20), f.seg().flags(ACK));
            }
            assertEquals(3, last.option(Sack.class).blocks().size(), "12 bytes of TS leave room for 3 blocks");
            assertEquals(new SackBlock(f.remoteIss + 901, f.remoteIss + 1001), last.option(Sack.class).blocks().get(0));
        }
    }

    // ----------------------------------------------------------------------------- SACK, sender side

    @Test
    void sackRecovery_retransmitsOnlyTheHoles() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 6 * 1460);
            for (int i = 0; i < 6; i++) {
                f.expect(at(10), f.seg().seq(s + i * 1460).len(1460));
            }
            // Segments 1 and 3 (0-based 0 and 2) are lost; the peer SACKs 2, 4, 5, 6.
            int b = s + 1460;
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(b, b + 1460)));
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s + 3 * 1460, s + 4 * 1460, b, b + 1460)));
            f.expectNothing(at(21));
            f.deliver(at(22), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s + 3 * 1460, s + 5 * 1460, b, b + 1460)));
            // RFC 8985 §6.2: DupThresh segments SACKed and no reordering seen, so the reordering
            // window is 0; both holes were sent before the newest SACKed segment and RACK.rtt ago:
            // both are lost at once. (Counting SACKed segments, RFC 6675 IsLost, would have waited
            // for a third above the second hole; RACK replaces that count.)
            f.expect(at(22), f.seg().seq(s).len(1460));
            f.expect(at(22), f.seg().seq(s + 2 * 1460).len(1460));
            f.expectNothing(at(22));
            f.deliver(at(23), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s + 3 * 1460, s + 6 * 1460, b, b + 1460)));
            f.expectNothing(at(23));
            assertTrue(f.conn.info().inRecovery());
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(s + 6 * 1460));
            assertTrue(!f.conn.info().inRecovery());
            assertEquals(1, f.ep.stats().fastRetransmits());
            assertEquals(2, f.ep.stats().segmentsRetransmitted());
        }
    }

    @Test
    void sackRecovery_sackBlocksOutsideTheFlight_areIgnored() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 2 * 1460);
            f.drain();
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s + 100_000, s + 200_000)));
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s - 5000, s - 1000)));
            f.expectNothing(at(21));
            assertEquals(2 * 1460, f.conn.info().pipe());
        }
    }

    @Test
    void rto_forgetsSackInformation() {
        try (TcpFixture f = withSack()) {
            int s = f.iss + 1;
            f.send(at(10), 3 * 1460);
            f.drain();
            // The SACK comes late (195 ms), so RACK's time for the hole (RACK.rtt + min_RTT / 4
            // after it was sent, RFC 8985 §6.2) is not up before the RTO at 210 ms.
            f.deliver(at(205), f.seg().seq(f.remoteIss + 1).ack(s).opts(sack(s + 1460, s + 2920)));
            // RTO: RFC 2018 §8, the receiver may have reneged, so everything is resent from SND.UNA.
            f.expect(at(220), f.seg().seq(s).len(1460));
            f.deliver(at(230), f.seg().seq(f.remoteIss + 1).ack(s + 1460));
            f.expect(at(230), f.seg().seq(s + 1460).len(1460));
        }
    }

    static TcpOption[] sack(int... edges) {
        List<SackBlock> blocks = new java.util.ArrayList<>();
        for (int i = 0; i < edges.length; i += 2) {
            blocks.add(new SackBlock(edges[i], edges[i + 1]));
        }
        return new TcpOption[] {new Nop(), new Nop(), new Sack(blocks)};
    }

    // ----------------------------------------------------------------------------- MSS

    @Test
    void mss_fromMtu() {
        TcpConfig cfg = TcpConfig.builder().mtu(1280).build();
        try (TcpFixture f = new TcpFixture(cfg).listening()) {
            f.deliver(at(0), f.seg().flags(SYN).seq(1).opts(MSS));
            TcpFixture.Got g = f.expect(at(0), f.seg().flags(SYN | ACK));
            assertEquals(1240, g.option(TcpOption.Mss.class).mss());
        }
    }

    @Test
    void mss_tinyPeerMss_isRaisedToTheFloor() {
        try (TcpFixture f = new TcpFixture().established(List.of(new TcpOption.Mss(1)), List.of())) {
            f.conn.setNoDelay(true, at(0));
            f.send(at(1), 200);
            assertEquals(64, f.expect(at(1), f.seg().seq(f.iss + 1)).len());
        }
    }

    @Test
    void timestamps_reduceThePayloadByTheirTwelveBytes() {
        try (TcpFixture f = withTimestamps()) {
            f.send(at(1), 3000);
            assertEquals(1448, f.expect(at(1), f.seg().seq(f.iss + 1)).len());
            assertNotNull(f.expect(at(1), f.seg().seq(f.iss + 1449)).option(Timestamps.class));
        }
    }

    @Test
    void noTimestamps_whenThePeerDoesNotOffer() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(1), 10);
            assertNull(f.expect(at(1), f.seg()).option(Timestamps.class));
        }
    }
}
