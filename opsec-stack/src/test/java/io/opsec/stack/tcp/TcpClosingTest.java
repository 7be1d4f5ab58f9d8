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
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT (RFC 9293 §3.6, §3.10.7.4). */
class TcpClosingTest {

    @Test
    void finWait1_ackOfFin_entersFinWait2() {
        try (TcpFixture f = new TcpFixture().finWait1()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 2));
            f.assertState(TcpState.FIN_WAIT_2);
            f.expectNothing(at(10));
        }
    }

    @Test
    void finWait1_finWithAckOfOurs_entersTimeWaitDirectly() {
        try (TcpFixture f = new TcpFixture().finWait1()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 2));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + 2).ack(f.remoteIss + 2));
            f.assertState(TcpState.TIME_WAIT);
            assertTrue(f.events.contains("closed null"));
        }
    }

    @Test
    void finWait1_unackedFin_isRetransmitted() {
        try (TcpFixture f = new TcpFixture().finWait1()) {
            f.expectNothing(at(199));
            f.expect(at(200), f.seg().flags(FIN | ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            f.expect(at(600), f.seg().flags(FIN | ACK).seq(f.iss + 1));
        }
    }

    @Test
    void finWait1_ackOfDataButNotFin_staysInFinWait1() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.setNoDelay(true, at(0));
            f.send(at(1), "abc".getBytes());
            f.conn.shutdownOutput(at(1));
            f.expect(at(1), f.seg().payload("abc"));
            f.expect(at(1), f.seg().flags(FIN | ACK).seq(f.iss + 4));
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 4));
            f.assertState(TcpState.FIN_WAIT_1);
            f.deliver(at(11), f.seg().seq(f.remoteIss + 1).ack(f.iss + 5));
            f.assertState(TcpState.FIN_WAIT_2);
        }
    }

    @Test
    void finWait2_fin_entersTimeWait() {
        try (TcpFixture f = new TcpFixture().finWait2()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 2));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + 2).ack(f.remoteIss + 2));
            f.assertState(TcpState.TIME_WAIT);
        }
    }

    @Test
    void finWait2_dataAfterFullClose_resetsTheConnection() {
        try (TcpFixture f = new TcpFixture().finWait2()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 2).payload("late"));
            // RFC 2525 §2.17: nobody can read it any more.
            f.expect(at(10), f.seg().flags(RST).seq(f.iss + 2));
            f.assertState(TcpState.CLOSED);
            assertEquals(1, f.ep.stats().abortOnData());
        }
    }

    @Test
    void finWait2_afterShutdownOutput_keepsReceiving() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.shutdownOutput(at(1));
            f.expect(at(1), f.seg().flags(FIN | ACK).seq(f.iss + 1));
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 2).payload("more"));
            f.assertState(TcpState.FIN_WAIT_2);
            assertEquals("more", new String(f.read(at(11), 10)));
            f.expect(at(210), f.seg().flags(ACK).ack(f.remoteIss + 5));
            f.deliver(at(300), f.seg().flags(FIN | ACK).seq(f.remoteIss + 5).ack(f.iss + 2));
            f.expect(at(300), f.seg().flags(ACK).ack(f.remoteIss + 6));
            f.assertState(TcpState.TIME_WAIT);
            assertTrue(f.conn.isInputEnded());
        }
    }

    @Test
    void finWait2_afterClose_timesOut() {
        try (TcpFixture f = new TcpFixture().finWait2()) {
            f.advance(at(59_999));
            f.assertState(TcpState.FIN_WAIT_2);
            f.advance(at(60_000));
            f.assertState(TcpState.CLOSED);
            f.expectNothing(at(60_000));
        }
    }

    @Test
    void finWait2_afterShutdownOutput_waitsForever() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.shutdownOutput(at(0));
            f.drain();
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 2));
            f.advance(at(3_600_000));
            f.assertState(TcpState.FIN_WAIT_2);
        }
    }

    @Test
    void closeWait_send_stillWorks() {
        try (TcpFixture f = new TcpFixture().closeWait()) {
            f.send(at(10), "reply".getBytes());
            f.expect(at(10), f.seg().seq(f.iss + 1).ack(f.remoteIss + 2).payload("reply"));
        }
    }

    @Test
    void closeWait_close_sendsFinAndEntersLastAck() {
        try (TcpFixture f = new TcpFixture().closeWait()) {
            f.conn.close(at(10));
            f.expect(at(10), f.seg().flags(FIN | ACK).seq(f.iss + 1).ack(f.remoteIss + 2));
            f.assertState(TcpState.LAST_ACK);
        }
    }

    @Test
    void closeWait_retransmittedFin_isAckedAgain() {
        try (TcpFixture f = new TcpFixture().closeWait()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 2));
            f.assertState(TcpState.CLOSE_WAIT);
        }
    }

    @Test
    void lastAck_ackOfFin_closes() {
        try (TcpFixture f = new TcpFixture().lastAck()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 2).ack(f.iss + 2));
            f.assertState(TcpState.CLOSED);
            assertNull(f.conn.error());
            assertEquals(0, f.ep.connectionCount());
            f.expectNothing(at(5000));
        }
    }

    @Test
    void lastAck_unackedFin_isRetransmittedThenTimesOut() {
        TcpConfig cfg = TcpConfig.builder().maxRetransmits(2).build();
        try (TcpFixture f = new TcpFixture(cfg).lastAck()) {
            f.expect(at(200), f.seg().flags(FIN | ACK).seq(f.iss + 1));
            f.expect(at(600), f.seg().flags(FIN | ACK).seq(f.iss + 1));
            f.expect(at(1400), f.seg().flags(RST).seq(f.iss + 2));
            assertEquals(TcpError.TIMEOUT, f.conn.error());
        }
    }

    @Test
    void closing_ackOfFin_entersTimeWait() {
        try (TcpFixture f = new TcpFixture().closing()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 2).ack(f.iss + 2));
            f.assertState(TcpState.TIME_WAIT);
        }
    }

    @Test
    void closing_unackedFin_isRetransmitted() {
        try (TcpFixture f = new TcpFixture().closing()) {
            f.expect(at(200), f.seg().flags(FIN | ACK).seq(f.iss + 1).ack(f.remoteIss + 2));
        }
    }

    @Test
    void simultaneousClose_bothFinsCross_endInTimeWait() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.close(at(10));
            f.expect(at(10), f.seg().flags(FIN | ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            f.deliver(at(11), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.expect(at(11), f.seg().flags(ACK).seq(f.iss + 2).ack(f.remoteIss + 2));
            f.assertState(TcpState.CLOSING);
            f.deliver(at(12), f.seg().flags(ACK).seq(f.remoteIss + 2).ack(f.iss + 2));
            f.assertState(TcpState.TIME_WAIT);
        }
    }

    @Test
    void timeWait_lastsTwoMsl() {
        TcpConfig cfg = TcpConfig.builder().msl(Duration.ofSeconds(5)).build();
        try (TcpFixture f = new TcpFixture(cfg).timeWait()) {
            f.advance(at(9_999));
            f.assertState(TcpState.TIME_WAIT);
            assertEquals(1, f.ep.connectionCount());
            f.advance(at(10_000));
            f.assertState(TcpState.CLOSED);
            assertEquals(0, f.ep.connectionCount());
        }
    }

    @Test
    void timeWait_retransmittedFin_isAckedAndRestartsTheTimer() {
        TcpConfig cfg = TcpConfig.builder().msl(Duration.ofSeconds(5)).build();
        try (TcpFixture f = new TcpFixture(cfg).timeWait()) {
            f.deliver(at(6_000), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 2));
            f.expect(at(6_000), f.seg().flags(ACK).seq(f.iss + 2).ack(f.remoteIss + 2));
            f.advance(at(15_999));
            f.assertState(TcpState.TIME_WAIT);
            f.advance(at(16_000));
            f.assertState(TcpState.CLOSED);
        }
    }

    @Test
    void timeWait_newSynWithHigherSequence_opensANewConnection() {
        try (TcpFixture f = new TcpFixture().timeWait()) {
            f.deliver(at(1000), f.seg().flags(SYN).seq(f.remoteIss + 100_000).opts(new TcpOption.Mss(1460)));
            f.expect(at(1000), f.seg().flags(SYN | ACK).ack(f.remoteIss + 100_001));
            f.assertState(TcpState.CLOSED);
            assertEquals(1, f.ep.connectionCount());
        }
    }

    @Test
    void timeWait_dataIsIgnoredButAcked() {
        try (TcpFixture f = new TcpFixture().timeWait()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 2).ack(f.iss + 2).payload("zombie"));
            f.assertState(TcpState.TIME_WAIT);
            assertEquals(0, f.conn.readableBytes());
        }
    }

    @Test
    void close_inSynSent_deletesTheConnectionSilently() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.conn.close(at(10));
            f.assertState(TcpState.CLOSED);
            assertNull(f.conn.error());
            f.expectNothing(at(10_000));
        }
    }

    @Test
    void close_inSynReceived_sendsFinOnceEstablished() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.conn = f.ep.accept(f.listener);
            f.conn.close(at(2));
            f.expect(at(2), f.seg().flags(FIN | ACK).seq(f.iss + 1));
            f.assertState(TcpState.FIN_WAIT_1);
        }
    }

    @Test
    void closeListener_resetsUnacceptedConnections() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.ep.closeListener(f.listener, at(2));
            f.expect(at(2), f.seg().flags(RST).seq(f.iss + 1));
            assertEquals(0, f.ep.connectionCount());
            // and the port is closed now
            f.remotePort = 40001;
            f.deliver(at(3), f.seg().flags(SYN).seq(1));
            f.expect(at(3), f.seg().flags(RST | ACK).ack(2));
        }
    }
}
