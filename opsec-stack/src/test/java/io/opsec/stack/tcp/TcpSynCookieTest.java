package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOption.Mss;
import io.opsec.stack.wire.TcpOption.Nop;
import io.opsec.stack.wire.TcpOption.Timestamps;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A listener's SYN cookies (RFC 4987 §3.6) as packet traces: when they are used, what a valid
 * one makes, what an invalid one gets (RFC 9293 §3.10.7.2: a RST), and the handshake extension's
 * part. The OPSEC selection through a cookie is shown by the {@code opsec/passive-syn-cookie-*.pkt}
 * scripts; the plain round trip by {@code handshake/syn-cookie-*.pkt}.
 */
class TcpSynCookieTest {
    static TcpConfig mode(SynCookieMode m) {
        return TcpConfig.builder().synCookies(m).build();
    }

    /** The peer at {@code port} sends a SYN; returns our SYN-ACK. */
    static TcpFixture.Got syn(TcpFixture f, long t, int port, List<TcpOption> opts) {
        f.remotePort = port;
        f.deliver(t, f.seg().flags(SYN).seq(f.remoteIss).opts(opts));
        return f.expect(t, f.seg().flags(SYN | ACK).ack(f.remoteIss + 1));
    }

    static TcpFixture.Got syn(TcpFixture f, long t, int port) {
        return syn(f, t, port, List.of(new Mss(1460)));
    }

    @Test
    void whenFull_theFirstSynsKeepState_andCookiesStartWhenTheBacklogIsFull() {
        try (TcpFixture f = new TcpFixture()) {
            f.listener = f.ep.listen(80, 2);
            assertEquals(f.iss, syn(f, at(0), 40001).seq(), "RFC 6528 ISN, state kept");
            assertEquals(f.iss, syn(f, at(0), 40002).seq());
            assertEquals(2, f.ep.connectionCount());
            int cookie = syn(f, at(0), 40003).seq();
            assertEquals(2, f.ep.connectionCount(), "no state for the third");
            assertEquals(1, f.ep.stats().synCookiesSent());
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(cookie + 1));
            f.assertNothingQueued();
            assertEquals(1, f.ep.stats().synCookiesValidated());
            TcpConnection c = f.ep.accept(f.listener);
            assertNotNull(c);
            assertEquals(40003, c.remotePort());
            assertEquals(TcpState.ESTABLISHED, c.state());
            assertEquals(cookie, c.info().iss());
            assertEquals(3, f.ep.connectionCount(), "the cookie connection beside the two half-open ones");
        }
    }

    @Test
    void always_keepsNoStateForAnySyn() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 16);
            syn(f, at(0), 40001);
            assertEquals(0, f.ep.connectionCount());
            f.expectNothing(at(100_000)); // and nothing is ever retransmitted
            assertEquals(1, f.ep.stats().synCookiesSent());
        }
    }

    @Test
    void forgedAck_isResetAndCounted() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS)).listening()) {
            int cookie = syn(f, at(0), 40001).seq();
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(cookie + 77));
            f.expect(at(5), f.seg().flags(RST).seq(cookie + 77));
            assertEquals(1, f.ep.stats().synCookiesFailed());
            assertEquals(0, f.ep.connectionCount());
            assertNull(f.ep.accept(f.listener));
        }
    }

    @Test
    void cookieForAnotherTuple_isResetAndCounted() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS)).listening()) {
            int cookie = syn(f, at(0), 40001).seq();
            f.remotePort = 40002;
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(cookie + 1));
            f.expect(at(5), f.seg().flags(RST).seq(cookie + 1));
            f.remotePort = 40001;
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 2).ack(cookie + 1)); // another ISN
            f.expect(at(5), f.seg().flags(RST).seq(cookie + 1));
            assertEquals(2, f.ep.stats().synCookiesFailed());
            assertEquals(0, f.ep.connectionCount());
        }
    }

    @Test
    void staleCookie_isResetAndCounted() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS)).listening()) {
            int cookie = syn(f, at(0), 40001).seq();
            f.deliver(at(128_000), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(cookie + 1));
            f.expect(at(128_000), f.seg().flags(RST).seq(cookie + 1));
            assertEquals(1, f.ep.stats().synCookiesFailed());
        }
    }

    /**
     * Unless cookies are always on, an ACK to a listener is only tried as a cookie while one it sent
     * may still be valid (128 s), as Linux: otherwise it is reset at once, as RFC 9293 §3.10.7.2 says.
     */
    @Test
    void whenFull_withoutARecentCookie_anAckIsNotTriedAsOne() {
        try (TcpFixture f = new TcpFixture().listening()) {
            f.deliver(at(0), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(12345));
            f.expect(at(0), f.seg().flags(RST).seq(12345));
            assertEquals(0, f.ep.stats().synCookiesFailed());
            assertEquals(1, f.ep.stats().noConnection());
        }
    }

    @Test
    void acceptQueueFull_aValidCookieAckIsDroppedSilently() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 1);
            int c1 = syn(f, at(0), 40001).seq();
            int c2 = syn(f, at(0), 40002).seq();
            f.remotePort = 40001;
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(c1 + 1));
            f.remotePort = 40002;
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(c2 + 1));
            f.assertNothingQueued(); // no RST: the peer retransmits, and may get in later
            assertEquals(1, f.ep.stats().synsDroppedBacklog());
            assertEquals(1, f.ep.connectionCount());
            f.remotePort = 40003;
            f.deliver(at(6), f.seg().flags(SYN).seq(f.remoteIss).opts(new Mss(1460)));
            f.expectNothing(at(6)); // a SYN is not answered either while the accept queue is full
            assertEquals(2, f.ep.stats().synsDroppedBacklog());
            assertNotNull(f.ep.accept(f.listener));
            f.remotePort = 40002;
            f.deliver(at(7), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(c2 + 1));
            assertNotNull(f.ep.accept(f.listener), "room again: the retransmitted ACK gets in");
        }
    }

    /**
     * The SYN-ACK carried timestamps, so the peer applies our window scale: an ACK without them
     * (stripped on the path) cannot tell us the peer's, and is refused rather than guessed.
     */
    @Test
    void timestampsStrippedFromTheAck_isRefused() {
        List<TcpOption> synOpts = List.of(new Mss(1460), new Nop(), new Nop(), new Timestamps(100, 0),
                new Nop(), new TcpOption.WindowScale(7));
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS)).listening()) {
            TcpFixture.Got g = syn(f, at(0), 40001, synOpts);
            assertNotNull(g.option(Timestamps.class));
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(g.seq() + 1));
            f.expect(at(5), f.seg().flags(RST));
            assertEquals(1, f.ep.stats().synCookiesFailed());
            int tsVal = g.option(Timestamps.class).tsVal();
            f.deliver(at(6), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(g.seq() + 1)
                    .opts(new Nop(), new Nop(), new Timestamps(101, tsVal)));
            TcpConnection c = f.ep.accept(f.listener);
            assertNotNull(c);
            assertEquals(7, c.info().sndWscale());
            assertEquals(false, c.info().sack(), "not offered in the SYN");
        }
    }

    @Test
    void peerMssBelow536_doesNotFitACookie() {
        List<TcpOption> small = List.of(new Mss(500));
        try (TcpFixture f = new TcpFixture()) {
            f.listener = f.ep.listen(80, 1);
            syn(f, at(0), 40001);
            f.remotePort = 40002;
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(small));
            f.expectNothing(at(0));
            assertEquals(1, f.ep.stats().synsDroppedBacklog());
            assertEquals(0, f.ep.stats().synCookiesSent());
        }
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS)).listening()) {
            assertEquals(f.iss, syn(f, at(0), 40001, small).seq(), "with room, state is kept instead");
            assertEquals(1, f.ep.connectionCount());
        }
    }

    /** A handshake extension for the tests: a fixed state, options, and what it was asked. */
    static final class Ext implements TcpExtension {
        static final List<TcpOption> OPTS = List.of(new TcpOption.Unknown(99, new byte[] {1, 2}));
        final int state;
        final boolean restores;
        final Verdict onSyn;
        int restoredFrom = -1;
        boolean attached;

        Ext(int state, boolean restores, Verdict onSyn) {
            this.state = state;
            this.restores = restores;
            this.onSyn = onSyn;
        }

        @Override public void attach(TcpConnection c) { attached = true; }
        @Override public List<TcpOption> synAckOptions(TcpHeader peerSyn, boolean simultaneousOpen) { return OPTS; }
        @Override public int synCookieState() { return state; }

        @Override
        public Verdict onSegment(TcpHeader h, int payloadLength, TcpState s) {
            return s == TcpState.LISTEN ? onSyn : Verdict.ACCEPT;
        }

        @Override
        public List<TcpOption> synAckOptionsFromCookie(int st) {
            restoredFrom = st;
            return restores ? OPTS : null;
        }
    }

    @Test
    void extensionState_travelsInTheCookie_andItsOptionsOnTheSynAck() {
        Ext[] made = new Ext[2];
        int[] n = {0};
        Supplier<TcpExtension> sup = () -> made[n[0]++] = new Ext(11, true, TcpExtension.Verdict.ACCEPT);
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 4, sup);
            TcpFixture.Got g = syn(f, at(0), 40001);
            assertEquals(List.of(new Mss(1460), Ext.OPTS.get(0)), g.h().options().stream()
                    .filter(o -> !(o instanceof TcpOption.Eol)).toList());
            assertEquals(false, made[0].attached, "no connection for a cookie SYN");
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(g.seq() + 1));
            assertNotNull(f.ep.accept(f.listener));
            assertEquals(11, made[1].restoredFrom);
            assertEquals(true, made[1].attached);
        }
    }

    @Test
    void extensionRefusingTheState_failsTheCookie() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 4, () -> new Ext(3, false, TcpExtension.Verdict.ACCEPT));
            int cookie = syn(f, at(0), 40001).seq();
            f.deliver(at(5), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(cookie + 1));
            f.expect(at(5), f.seg().flags(RST).seq(cookie + 1));
            assertEquals(1, f.ep.stats().synCookiesFailed());
            assertEquals(0, f.ep.connectionCount());
        }
    }

    @Test
    void extensionStateThatDoesNotFit_keepsStateWhenThereIsRoom_elseDrops() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 1, () -> new Ext(-1, true, TcpExtension.Verdict.ACCEPT));
            assertEquals(f.iss, syn(f, at(0), 40001).seq(), "state kept");
            f.remotePort = 40002;
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(new Mss(1460)));
            f.expectNothing(at(0));
            assertEquals(1, f.ep.stats().synsDroppedBacklog());
            assertEquals(0, f.ep.stats().synCookiesSent());
        }
    }

    @Test
    void extensionRefusingTheSyn_isResetWithoutACookie() {
        try (TcpFixture f = new TcpFixture(mode(SynCookieMode.ALWAYS))) {
            f.listener = f.ep.listen(80, 4, () -> new Ext(0, true, TcpExtension.Verdict.ABORT));
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(new Mss(1460)));
            f.expect(at(0), f.seg().flags(RST | ACK).seq(0).ack(f.remoteIss + 1));
            assertEquals(0, f.ep.stats().synCookiesSent());
            assertEquals(1, f.ep.stats().extensionAborts());
        }
    }
}
