package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.FIN;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The seven synchronized states against RST (exact, in window, outside), SYN, SYN-ACK, bad
 * sequence numbers and bad acknowledgments: RFC 9293 §3.10.7.4 with RFC 5961 §3-§5.
 */
class TcpSynchronizedStatesTest {

    /** A synchronized state, how to reach it, and SND.NXT / RCV.NXT there (relative to the ISNs). */
    enum S {
        ESTABLISHED(TcpFixture::established, 1, 1, TcpState.ESTABLISHED, TcpError.RESET),
        FIN_WAIT_1(TcpFixture::finWait1, 2, 1, TcpState.FIN_WAIT_1, TcpError.RESET),
        FIN_WAIT_2(TcpFixture::finWait2, 2, 1, TcpState.FIN_WAIT_2, TcpError.RESET),
        CLOSE_WAIT(TcpFixture::closeWait, 1, 2, TcpState.CLOSE_WAIT, TcpError.RESET),
        CLOSING(TcpFixture::closing, 2, 2, TcpState.CLOSING, null),
        LAST_ACK(TcpFixture::lastAck, 2, 2, TcpState.LAST_ACK, null),
        TIME_WAIT(TcpFixture::timeWait, 2, 2, TcpState.TIME_WAIT, null);

        final Function<TcpFixture, TcpFixture> reach;
        final int sndNxt;
        final int rcvNxt;
        final TcpState state;
        final TcpError onReset;

        S(Function<TcpFixture, TcpFixture> reach, int sndNxt, int rcvNxt, TcpState state, TcpError onReset) {
            this.reach = reach;
            this.sndNxt = sndNxt;
            this.rcvNxt = rcvNxt;
            this.state = state;
            this.onReset = onReset;
        }

        TcpFixture fixture() {
            TcpFixture f = reach.apply(new TcpFixture());
            assertEquals(state, f.conn.state());
            return f;
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void rstAtRcvNxt_closesExceptTimeWait(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(RST).seq(f.remoteIss + s.rcvNxt));
            f.expectNothing(at(10));
            if (s == S.TIME_WAIT) {
                f.assertState(TcpState.TIME_WAIT); // RFC 1337: no TIME-WAIT assassination
            } else {
                f.assertState(TcpState.CLOSED);
                assertEquals(s.onReset, f.conn.error());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void rstInWindowNotExact_getsChallengeAck(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(RST).seq(f.remoteIss + s.rcvNxt + 100));
            // RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
            assertEquals(1, f.ep.stats().challengeAcks());
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void rstOutsideWindow_isDroppedSilently(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(RST).seq(f.remoteIss + s.rcvNxt + 1_000_000));
            f.deliver(at(10), f.seg().flags(RST | ACK).seq(f.remoteIss + s.rcvNxt - 1).ack(f.iss + s.sndNxt));
            f.expectNothing(at(10));
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void synInWindow_getsChallengeAck(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(SYN | ACK).seq(f.remoteIss + s.rcvNxt + 10).ack(f.iss + s.sndNxt));
            // RFC 5961 §4.2
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void oldSyn_isAnsweredWithAckAndChangesNothing(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(SYN).seq(f.remoteIss));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void segmentOutsideWindow_isAnsweredWithAck(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + s.rcvNxt + 1_000_000).ack(f.iss + s.sndNxt)
                    .payload("junk"));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
            assertEquals(0, f.conn.readableBytes());
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void oldDuplicateData_isAnsweredWithAck(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + s.rcvNxt - 5).ack(f.iss + s.sndNxt)
                    .len(4));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void ackOfUnsentData_isAnsweredAndTheSegmentDropped(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + s.rcvNxt).ack(f.iss + s.sndNxt + 1000)
                    .payload("data"));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
            assertEquals(0, f.conn.readableBytes(), "data on an unacceptable ACK is dropped");
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void ackFarBelowSndUna_getsChallengeAck(S s) {
        try (TcpFixture f = s.fixture()) {
            // RFC 5961 §5.2: SEG.ACK < SND.UNA - MAX.SND.WND
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + s.rcvNxt).ack(f.iss - 100_000));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void segmentWithoutAck_isDropped(S s) {
        try (TcpFixture f = s.fixture()) {
            f.deliver(at(10), f.seg().flags(0).seq(f.remoteIss + s.rcvNxt).payload("x"));
            f.expectNothing(at(10));
            f.assertState(s.state);
            assertEquals(0, f.conn.readableBytes());
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void challengeAcks_areThrottledPerConnection(S s) {
        try (TcpFixture f = s.fixture()) {
            for (int i = 0; i < 15; i++) {
                f.deliver(at(10), f.seg().flags(RST).seq(f.remoteIss + s.rcvNxt + 1 + i));
            }
            assertEquals(10, f.drain(), "RFC 5961 §7: at most 10 per second");
            f.advance(at(1011));
            f.drain(); // FIN retransmissions in the states that have one outstanding
            f.deliver(at(1011), f.seg().flags(RST).seq(f.remoteIss + s.rcvNxt + 1));
            assertEquals(1, f.drain(), "a new second, a new allowance");
            f.assertState(s.state);
        }
    }

    @ParameterizedTest
    @EnumSource(S.class)
    void abort_sendsRstFromSndNxtUnlessTimeWait(S s) {
        try (TcpFixture f = s.fixture()) {
            f.conn.abort(at(10));
            if (s != S.TIME_WAIT) {
                f.expect(at(10), f.seg().flags(RST).seq(f.iss + s.sndNxt));
            }
            f.expectNothing(at(10));
            assertEquals(TcpState.CLOSED, s == S.TIME_WAIT ? TcpState.CLOSED : f.conn.state());
            assertNull(f.ep.pollTransmit());
        }
    }
}
