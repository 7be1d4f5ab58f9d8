package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpOption.Nop;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import io.opsec.stack.wire.TcpOption.Timestamps;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The rate limit on ACKs that answer unacceptable segments (RFC 9293 §3.10.7.4 first, RFC 7323
 * §5.3 R1), as Linux's tcp_invalid_ratelimit: at most one per 500 ms per connection for segments
 * without data; segments with data or a FIN are always answered.
 */
class TcpInvalidAckLimitTest {
    /** A sequence number far outside any window here. */
    static final int FAR = 1 << 30;

    @ParameterizedTest
    @EnumSource(TcpSynchronizedStatesTest.S.class)
    void outOfWindowPureAcks_areAnsweredAtMostOncePer500ms(TcpSynchronizedStatesTest.S s) {
        try (TcpFixture f = s.fixture()) {
            int seq = f.remoteIss + FAR;
            int ack = f.iss + s.sndNxt;
            f.deliver(at(10), f.seg().flags(ACK).seq(seq).ack(ack));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + s.sndNxt).ack(f.remoteIss + s.rcvNxt));
            f.deliver(at(11), f.seg().flags(ACK).seq(seq).ack(ack));
            f.deliver(at(509), f.seg().flags(ACK).seq(seq + 1).ack(ack));
            assertEquals(0, pureAcks(f), "answers before 510 ms");
            f.deliver(at(510), f.seg().flags(ACK).seq(seq).ack(ack));
            assertEquals(1, pureAcks(f), "answers at 510 ms");
            assertEquals(2, f.ep.stats().outOfWindowAcksSuppressed());
            assertEquals(4, f.ep.stats().outOfWindow());
            f.assertState(s.state);
        }
    }

    /**
     * Takes what was sent and counts the segments without a FIN: in FIN-WAIT-1, CLOSING and
     * LAST-ACK our own FIN is retransmitted meanwhile, which is no answer to anything.
     */
    static int pureAcks(TcpFixture f) {
        int n = 0;
        for (ByteBuf p; (p = f.ep.pollTransmit()) != null; ) {
            try {
                if (!TcpSegment.parse(p, TcpOptions.Codec.DEFAULT).value().tcp().has(TcpFlags.FIN)) {
                    n++;
                }
            } finally {
                p.release();
            }
        }
        return n;
    }

    @Test
    void established_outOfWindowSyns_shareTheLimit() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(SYN).seq(f.remoteIss + FAR));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1));
            f.deliver(at(20), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.deliver(at(30), f.seg().flags(SYN).seq(f.remoteIss - FAR));
            f.expectNothing(at(30));
            assertEquals(2, f.ep.stats().outOfWindowAcksSuppressed());
        }
    }

    /** An old retransmission (its ACK was lost) must still be acknowledged, each time. */
    @Test
    void established_oldDuplicateData_isAnsweredEveryTime() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("hello"));
            f.expect(at(210), f.seg().flags(ACK).ack(f.remoteIss + 6)); // delayed ACK
            for (int t = 300; t < 305; t++) {
                f.deliver(at(t), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("hello"));
                f.expect(at(t), f.seg().flags(ACK).ack(f.remoteIss + 6));
            }
            f.deliver(at(306), f.seg().flags(ACK | TcpFixture.FIN).seq(f.remoteIss - 100).ack(f.iss + 1));
            f.expect(at(306), f.seg().flags(ACK).ack(f.remoteIss + 6));
            assertEquals(0, f.ep.stats().outOfWindowAcksSuppressed());
        }
    }

    @Test
    void synReceived_outOfWindowPureAcks_areLimitedToo() {
        try (TcpFixture f = new TcpFixture().synReceived()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            f.deliver(at(20), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.expectNothing(at(20));
            assertEquals(1, f.ep.stats().outOfWindowAcksSuppressed());
            assertEquals(1, f.ep.connectionCount(), "still half-open");
        }
    }

    /**
     * RFC 7323 §5.3 R1: a PAWS failure is answered with an ACK, under the same limit. (The pure
     * ACKs' TSval is 2 s older than TS.Recent: within one RTO, a pure duplicate ACK would pass as
     * a reordered one, as on Linux; see TcpLossDetectionTest.)
     */
    @Test
    void paws_rejectedPureAcks_areLimited_butDataIsAnswered() {
        try (TcpFixture f = TcpOptionsTest.withTimestamps()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).opts(new Nop(), new Nop(),
                    new Timestamps(101 - 2000, 0)));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).opts(new Nop(), new Nop(),
                    new Timestamps(101 - 2000, 0)));
            f.expectNothing(at(20));
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("old")
                    .opts(new Nop(), new Nop(), new Timestamps(50, 0)));
            f.expect(at(30), f.seg().flags(ACK).ack(f.remoteIss + 1));
            assertEquals(3, f.ep.stats().pawsRejected());
            assertEquals(1, f.ep.stats().outOfWindowAcksSuppressed());
        }
    }

    @Test
    void limitOff_answersEveryUnacceptableSegment() {
        TcpConfig cfg = TcpConfig.builder().invalidAckInterval(Duration.ZERO).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            for (int t = 10; t < 15; t++) {
                f.deliver(at(t), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
                f.expect(at(t), f.seg().flags(ACK).ack(f.remoteIss + 1));
            }
            assertEquals(0, f.ep.stats().outOfWindowAcksSuppressed());
        }
    }

    @Test
    void configuredInterval_isHonoured() {
        TcpConfig cfg = TcpConfig.builder().invalidAckInterval(Duration.ofSeconds(2)).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.expect(at(10), f.seg().flags(ACK));
            f.deliver(at(2009), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.expectNothing(at(2009));
            f.deliver(at(2010), f.seg().flags(ACK).seq(f.remoteIss + FAR).ack(f.iss + 1));
            f.expect(at(2010), f.seg().flags(ACK));
        }
    }
}
