package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.FIN;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.wire.TcpOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Opening: LISTEN, SYN-SENT and SYN-RECEIVED against every kind of segment (RFC 9293 §3.10.7.2-3). */
class TcpHandshakeTest {

    @Test
    void listen_syn_answersSynAckWithOurOptionsAndEntersSynReceived() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(new TcpOption.Mss(1400)));
            f.expect(at(0), f.seg().flags(SYN | ACK).seq(f.iss).ack(f.remoteIss + 1).win(65535)
                    .opts(new TcpOption.Mss(1460)));
            assertEquals(1, f.ep.connectionCount());
            assertNull(f.ep.accept(f.listener), "not acceptable before the handshake completes");
        }
    }

    @Test
    void listen_synWithEveryOption_echoesTimestampsSackAndScale() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(new TcpOption.Mss(1460),
                    new TcpOption.SackPermitted(), new TcpOption.Timestamps(777, 0), new TcpOption.Nop(),
                    new TcpOption.WindowScale(7)));
            // Linux's layout; TSval is our clock (0 ms, offset 0), TSecr echoes 777; shift 3 for 256 KiB.
            f.expect(at(0), f.seg().flags(SYN | ACK).opts(new TcpOption.Mss(1460), new TcpOption.SackPermitted(),
                    new TcpOption.Timestamps(0, 777), new TcpOption.Nop(), new TcpOption.WindowScale(3)));
        }
    }

    @Test
    void listen_ack_isAnsweredWithRstAtItsAck() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(ACK).seq(100).ack(12345));
            f.expect(at(0), f.seg().flags(RST).seq(12345));
            assertEquals(0, f.ep.connectionCount());
        }
    }

    @Test
    void listen_rst_isIgnored() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(RST).seq(100));
            f.expectNothing(at(10));
        }
    }

    @Test
    void listen_finWithoutSyn_isDropped() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(FIN).seq(100));
            f.expectNothing(at(10));
            assertEquals(0, f.ep.connectionCount());
        }
    }

    @Test
    void closedPort_syn_isRefusedWithRstAck() {
        try (TcpFixture f = new TcpFixture()) {
            // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss));
            f.expect(at(0), f.seg().flags(RST | ACK).seq(0).ack(f.remoteIss + 1));
        }
    }

    @Test
    void closedPort_dataWithAck_isAnsweredWithRstAtItsAck() {
        try (TcpFixture f = new TcpFixture()) {
            f.deliver(at(0), f.seg().flags(ACK).seq(1).ack(999).payload("hello"));
            f.expect(at(0), f.seg().flags(RST).seq(999));
        }
    }

    @Test
    void closedPort_rst_isNotAnswered() {
        try (TcpFixture f = new TcpFixture()) {
            f.deliver(at(0), f.seg().flags(RST | ACK).seq(1).ack(2));
            f.expectNothing(at(10));
        }
    }

    @Test
    void closedPort_dataWithoutAck_rstAcksTheWholeSegment() {
        try (TcpFixture f = new TcpFixture()) {
            f.deliver(at(0), f.seg().flags(FIN).seq(100).payload("abc"));
            f.expect(at(0), f.seg().flags(RST | ACK).seq(0).ack(104));
        }
    }

    @Test
    void synReceived_ack_establishesAndQueuesForAccept() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            TcpConnection c = f.ep.accept(f.listener);
            assertEquals(TcpState.ESTABLISHED, c.state());
            f.expectNothing(at(10));
        }
    }

    @Test
    void synReceived_ackWithData_establishesAndDeliversData() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("hi"));
            f.conn = f.ep.accept(f.listener);
            assertEquals("hi", new String(f.read(at(5), 100)));
        }
    }

    @Test
    void synReceived_badAck_isAnsweredWithRst() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 100));
            f.expect(at(5), f.seg().flags(RST).seq(f.iss + 100));
            assertNull(f.ep.accept(f.listener));
        }
    }

    @Test
    void synReceived_segmentOutsideWindow_isAnsweredWithAckFromSndNxt() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            // RFC 9293 §3.10.7.4 first: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, in SYN-RECEIVED as elsewhere.
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1 - 1000).ack(f.iss + 1).len(100));
            f.expect(at(5), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            f.deliver(at(6), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1 + 65535).ack(f.iss + 1));
            f.expect(at(6), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            assertEquals(TcpState.SYN_RECEIVED, f.ep.connectionCount() == 1 ? TcpState.SYN_RECEIVED : null);
            assertNull(f.ep.accept(f.listener));
        }
    }

    @Test
    void synReceived_duplicateSyn_retransmitsSynAck() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(SYN).seq(f.remoteIss).opts(new TcpOption.Mss(1460)));
            f.expect(at(5), f.seg().flags(SYN | ACK).seq(f.iss).ack(f.remoteIss + 1));
        }
    }

    @Test
    void synReceived_rstInWindow_returnsToListenSilently() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(RST).seq(f.remoteIss + 1));
            f.expectNothing(at(5000));
            assertEquals(0, f.ep.connectionCount());
            assertEquals(0, f.listener.halfOpen);
        }
    }

    @Test
    void synReceived_rstOutOfWindow_isIgnored() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(5), f.seg().flags(RST).seq(f.remoteIss + 1_000_000));
            assertEquals(1, f.ep.connectionCount());
        }
    }

    @Test
    void synReceived_noAck_retransmitsSynAckWithBackoffThenGivesUp() {
        try (TcpFixture f = new TcpFixture(TcpConfig.builder().synAckRetries(2).build()).synReceived()) {
            f.expect(at(1000), f.seg().flags(SYN | ACK).seq(f.iss));
            f.expectNothing(at(2999));
            f.expect(at(3000), f.seg().flags(SYN | ACK).seq(f.iss));
            f.expectNothing(at(6999));
            f.advance(at(7000));
            assertEquals(0, f.ep.connectionCount());
            f.expectNothing(at(20000));
        }
    }

    @Test
    void synSent_synAck_establishesAndAcks() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(20), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1));
            f.expect(at(20), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            f.assertState(TcpState.ESTABLISHED);
            assertEquals(List.of("established"), f.events);
            // RTT from the unretransmitted SYN (RFC 6298 §2.2): 20 ms; RTO = SRTT + max(4*RTTVAR, 200 ms).
            assertEquals(at(20), f.conn.info().srtt());
            assertEquals(at(220), f.conn.info().rto());
        }
    }

    @Test
    void synSent_synOptions_areLinuxLayout() {
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, at(0));
            f.expect(at(0), f.seg().flags(SYN).seq(f.iss).ack(0).win(65535).opts(new TcpOption.Mss(1460),
                    new TcpOption.SackPermitted(), new TcpOption.Timestamps(0, 0), new TcpOption.Nop(),
                    new TcpOption.WindowScale(3)));
        }
    }

    @Test
    void synSent_rstWithAcceptableAck_isRefused() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(RST | ACK).seq(0).ack(f.iss + 1));
            f.assertState(TcpState.CLOSED);
            assertEquals(TcpError.REFUSED, f.conn.error());
            assertEquals(List.of("closed REFUSED"), f.events);
            f.expectNothing(at(5000));
        }
    }

    @Test
    void synSent_rstWithBadAck_isIgnored() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(RST | ACK).seq(0).ack(f.iss + 7));
            f.assertState(TcpState.SYN_SENT);
            f.expectNothing(at(5));
        }
    }

    @Test
    void synSent_rstWithoutAck_isIgnored() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(RST).seq(f.remoteIss));
            f.assertState(TcpState.SYN_SENT);
        }
    }

    @Test
    void synSent_ackOfSomethingElse_isAnsweredWithRst() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss).ack(f.iss + 50));
            f.expect(at(5), f.seg().flags(RST).seq(f.iss + 50));
            f.assertState(TcpState.SYN_SENT);
        }
    }

    @Test
    void synSent_synAckAckingIss_isAnsweredWithRst() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss));
            f.expect(at(5), f.seg().flags(RST).seq(f.iss));
            f.assertState(TcpState.SYN_SENT);
        }
    }

    @Test
    void synSent_plainAckless_isDropped() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(FIN).seq(f.remoteIss));
            f.expectNothing(at(5));
            f.assertState(TcpState.SYN_SENT);
        }
    }

    @Test
    void synSent_syn_isSimultaneousOpen() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN).seq(f.remoteIss).opts(new TcpOption.Mss(1460)));
            f.expect(at(5), f.seg().flags(SYN | ACK).seq(f.iss).ack(f.remoteIss + 1));
            f.assertState(TcpState.SYN_RECEIVED);
            f.deliver(at(6), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1));
            // The peer's SYN-ACK is acceptable for its ACK; its SYN is old: RFC 9293 Figure 8.
            f.assertState(TcpState.ESTABLISHED);
            f.expectNothing(at(6)); // Figure 8: nothing more (without a handshake extension)
        }
    }

    @Test
    void synSent_simultaneousOpen_completesWithPlainAck() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN).seq(f.remoteIss));
            f.expect(at(5), f.seg().flags(SYN | ACK).seq(f.iss).ack(f.remoteIss + 1));
            f.deliver(at(6), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.assertState(TcpState.ESTABLISHED);
            f.expectNothing(at(6));
        }
    }

    @Test
    void synSent_noAnswer_retriesWithBackoffThenTimesOut() {
        try (TcpFixture f = new TcpFixture(TcpConfig.builder().synRetries(3).build()).synSent()) {
            f.expectNothing(at(999));
            f.expect(at(1000), f.seg().flags(SYN).seq(f.iss));
            f.expect(at(3000), f.seg().flags(SYN).seq(f.iss));
            f.expect(at(7000), f.seg().flags(SYN).seq(f.iss));
            f.expectNothing(at(14999));
            f.advance(at(15000));
            f.assertState(TcpState.CLOSED);
            assertEquals(TcpError.TIMEOUT, f.conn.error());
            f.expectNothing(at(100_000));
        }
    }

    @Test
    void synSent_synAckAfterRetransmission_takesNoRttSample() {
        try (TcpFixture f = new TcpFixture(TcpConfig.builder().timestamps(false).build()).synSent()) {
            f.expect(at(1000), f.seg().flags(SYN));
            f.deliver(at(1010), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1));
            assertEquals(0, f.conn.info().srtt(), "Karn: an ambiguous sample is not taken");
            f.drain();
        }
    }

    @Test
    void synSent_synAckWithMss_clampsOurSegments() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1).opts(new TcpOption.Mss(500)));
            f.expect(at(5), f.seg().flags(ACK));
            f.conn.setNoDelay(true, at(5));
            f.send(at(5), 1200);
            f.expect(at(5), f.seg().seq(f.iss + 1).len(500));
            f.expect(at(5), f.seg().seq(f.iss + 501));
            f.expect(at(5), f.seg().seq(f.iss + 1001));
        }
    }

    @Test
    void synSent_synAckWithoutMss_uses536() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1));
            f.expect(at(5), f.seg().flags(ACK));
            f.send(at(5), 1000);
            assertEquals(536, f.expect(at(5), f.seg().seq(f.iss + 1)).len());
        }
    }

    @Test
    void synSent_synAckWithData_deliversItAndAcksAll() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1).payload("early"));
            f.expect(at(5), f.seg().flags(ACK).ack(f.remoteIss + 6));
            assertEquals("early", new String(f.read(at(5), 99)));
        }
    }

    @Test
    void backlog_full_dropsFurtherSyns_withoutSynCookies() {
        try (TcpFixture f = new TcpFixture(TcpConfig.builder().synCookies(SynCookieMode.OFF).build())) {
            f.listener = f.ep.listen(80, 1);
            f.deliver(at(0), f.seg().flags(SYN).seq(1));
            f.expect(at(0), f.seg().flags(SYN | ACK));
            f.remotePort = 40001;
            f.deliver(at(0), f.seg().flags(SYN).seq(1));
            f.expectNothing(at(0));
            assertEquals(1, f.ep.stats().synsDroppedBacklog());
        }
    }

    @Test
    void ephemeralPorts_areRandomisedInRange() {
        try (TcpFixture f = new TcpFixture()) {
            int a = f.ep.connect(TcpFixture.REMOTE, 80, 0, at(0)).localPort();
            int b = f.ep.connect(TcpFixture.REMOTE, 80, 0, at(0)).localPort();
            assertTrue(a >= 49152 && b >= 49152 && a != b, a + " " + b);
            assertTrue(Math.abs(a - b) != 1 || a == 65535, "not simply sequential");
        }
    }
}
