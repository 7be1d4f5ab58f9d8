package io.opsec.stack.opsec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.opsec.Negotiation.Verdict;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The decision table of docs/negotiation.md, one row per test: what each side sent and received,
 * and the outcome on both ends.
 */
class NegotiationTest {
    private static final OpsecOption FRAMING = OpsecOption.experimental(0);
    private static final int ACK = TcpFlags.ACK;
    private static final List<TcpOption> NONE = List.of();

    private static Negotiation client(OpsecMode mode, int... ids) {
        return Negotiation.initiator(mode, ids, FRAMING);
    }

    private static Negotiation server(OpsecMode mode, int... ids) {
        return Negotiation.responder(mode, ids, FRAMING);
    }

    private static List<TcpOption> opts(TcpOption... o) {
        return List.of(o);
    }

    /** Runs a handshake between the two, letting {@code path} rewrite each segment's options. */
    private static void handshake(Negotiation c, Negotiation s, Path path) {
        List<TcpOption> syn = c.synOption() == null ? NONE : opts(c.synOption());
        s.onSyn(path.syn(syn));
        List<TcpOption> synAck = s.synAckOption() == null ? NONE : opts(s.synAckOption());
        c.onSynAck(path.synAck(synAck));
        List<TcpOption> ack = c.segmentOption() == null ? NONE : opts(c.segmentOption());
        s.onSegment(ACK, path.ack(ack));
    }

    interface Path {
        default List<TcpOption> syn(List<TcpOption> o) { return o; }
        default List<TcpOption> synAck(List<TcpOption> o) { return o; }
        default List<TcpOption> ack(List<TcpOption> o) { return o; }
    }

    private static final Path CLEAN = new Path() {};

    @Test
    void bothOpportunistic_selectTls_bothSecured_initiatorIsClient() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, CLEAN);
        assertEquals(new NegotiationOutcome.Secured(0, true), c.outcome());
        assertEquals(new NegotiationOutcome.Secured(0, false), s.outcome());
    }

    @Test
    void responder_honoursTheInitiatorsPreferenceOrder() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 7, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0, 7);
        handshake(c, s, CLEAN);
        assertEquals(new NegotiationOutcome.Secured(7, true), c.outcome());
        assertEquals(new NegotiationOutcome.Secured(7, false), s.outcome());
    }

    @Test
    void synOption_isTheSameInstanceOnEveryRetransmission() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        assertSame(c.synOption(), c.synOption());
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        s.onSyn(opts(OpsecOption.experimental(0)));
        assertSame(s.synAckOption(), s.synAckOption());
    }

    @Test
    void peerWithoutOpsec_asResponder_initiatorPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        c.synOption();
        c.onSynAck(NONE);
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_ANSWER), c.outcome());
        assertNull(c.segmentOption());
    }

    @Test
    void peerWithoutOpsec_asInitiator_responderPlain() {
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        s.onSyn(NONE);
        assertNull(s.synAckOption());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_OFFER), s.outcome());
    }

    @Test
    void strippedFromSyn_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() { public List<TcpOption> syn(List<TcpOption> o) { return NONE; } });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_ANSWER), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_OFFER), s.outcome());
    }

    @Test
    void strippedFromSynAck_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() { public List<TcpOption> synAck(List<TcpOption> o) { return NONE; } });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_ANSWER), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.OPTION_STRIPPED), s.outcome());
    }

    @Test
    void strippedFromAckOnly_laterEchoOnData_failsLoudly() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() { public List<TcpOption> ack(List<TcpOption> o) { return NONE; } });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.OPTION_STRIPPED), s.outcome());
        // The initiator is secured and keeps echoing on its data until acknowledged.
        assertEquals(OpsecOption.experimental(0), c.segmentOption());
        assertEquals(Verdict.ABORT, s.onSegment(ACK | TcpFlags.PSH, opts(c.segmentOption())));
        assertTrue(s.outcome() instanceof NegotiationOutcome.Failed);
    }

    @Test
    void completingAckLost_dataWithEchoArrivesFirst_bothSecured() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        s.onSyn(opts(c.synOption()));
        c.onSynAck(opts(s.synAckOption()));
        // The bare ACK is lost; the first data segment still carries the echo.
        assertEquals(Verdict.CONTINUE, s.onSegment(ACK | TcpFlags.PSH, opts(c.segmentOption())));
        assertEquals(new NegotiationOutcome.Secured(0, false), s.outcome());
        c.peerAcknowledgedData();
        assertNull(c.segmentOption());
    }

    @Test
    void selectionRewrittenToAnotherProposedId_echoMismatch_failsLoudly() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0, 1);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0, 1);
        handshake(c, s, new Path() {
            public List<TcpOption> synAck(List<TcpOption> o) { return opts(OpsecOption.experimental(1)); }
        });
        assertEquals(new NegotiationOutcome.Secured(1, true), c.outcome());
        assertTrue(s.outcome() instanceof NegotiationOutcome.Failed, s.outcome().toString());
    }

    @Test
    void selectionOfAnIdNotProposed_isIgnored_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() {
            public List<TcpOption> synAck(List<TcpOption> o) { return opts(OpsecOption.experimental(9)); }
        });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_INVALID_OPTION), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.OPTION_STRIPPED), s.outcome());
    }

    @Test
    void synAckSelectingSeveralIds_isIgnored_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0, 1);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0, 1);
        handshake(c, s, new Path() {
            public List<TcpOption> synAck(List<TcpOption> o) { return opts(OpsecOption.experimental(0, 1)); }
        });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_INVALID_OPTION), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.OPTION_STRIPPED), s.outcome());
    }

    @Test
    void proposalWithNoIds_isIgnored() {
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        s.onSyn(opts(OpsecOption.experimental()));
        assertNull(s.synAckOption());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_INVALID_OPTION), s.outcome());
    }

    @Test
    void duplicatedOptionInSyn_isIgnored_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() {
            public List<TcpOption> syn(List<TcpOption> o) { return opts(o.get(0), o.get(0)); }
        });
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_ANSWER), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_INVALID_OPTION), s.outcome());
    }

    @Test
    void duplicatedEcho_failsLoudly() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, new Path() {
            public List<TcpOption> ack(List<TcpOption> o) { return opts(o.get(0), o.get(0)); }
        });
        assertTrue(s.outcome() instanceof NegotiationOutcome.Failed);
    }

    @Test
    void noCommonProtocol_bothPlain() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 5);
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
        handshake(c, s, CLEAN);
        assertEquals(new NegotiationOutcome.Plain(PlainReason.PEER_DID_NOT_ANSWER), c.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.NO_COMMON_PROTOCOL), s.outcome());
    }

    @Test
    void modeOff_sendsNothingAndSelectsNothing() {
        Negotiation c = client(OpsecMode.OFF, 0);
        assertNull(c.synOption());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.LOCAL_POLICY), c.outcome());
        Negotiation s = server(OpsecMode.OFF, 0);
        s.onSyn(opts(OpsecOption.experimental(0)));
        assertNull(s.synAckOption());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.LOCAL_POLICY), s.outcome());
    }

    @Test
    void required_turnsPlainIntoFailure() {
        Negotiation c = client(OpsecMode.REQUIRED, 0);
        c.synOption();
        assertEquals(Verdict.ABORT, c.onSynAck(NONE));
        Negotiation s = server(OpsecMode.REQUIRED, 0);
        assertEquals(Verdict.ABORT, s.onSyn(NONE), "refused at the SYN");
        assertTrue(s.outcome() instanceof NegotiationOutcome.Failed);
        Negotiation other = server(OpsecMode.REQUIRED, 0);
        assertEquals(Verdict.ABORT, other.onSyn(opts(OpsecOption.experimental(5))), "no common protocol");
        Negotiation ok = server(OpsecMode.REQUIRED, 0);
        assertEquals(Verdict.CONTINUE, ok.onSyn(opts(OpsecOption.experimental(0))), "a selection: wait for the echo");
    }

    @Test
    void fallbackAfterSynTimeouts_dropsTheOption_andReportsWhy() {
        Negotiation c = client(OpsecMode.OPPORTUNISTIC, 0);
        OpsecOption first = c.synOption();
        assertEquals(OpsecOption.experimental(0), first);
        c.fallBackToPlainSyn();
        assertNull(c.synOption());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.FALLBACK_AFTER_SYN_TIMEOUTS), c.outcome());
    }

    @Test
    void simultaneousOpen_highestCommonId_bothSecured_lowerEndIsClient() {
        Negotiation a = client(OpsecMode.OPPORTUNISTIC, 0, 3, 1);
        Negotiation b = client(OpsecMode.OPPORTUNISTIC, 1, 0, 3, 4);
        List<TcpOption> synA = opts(a.synOption());
        List<TcpOption> synB = opts(b.synOption());
        a.onSimultaneousSyn(synB, true);
        b.onSimultaneousSyn(synA, false);
        // Their SYN-ACKs repeat their proposals (a retransmitted SYN, draft §3.5); the ACKs carry the selection.
        assertSame(a.synOption(), a.synAckOption());
        assertEquals(OpsecOption.experimental(3), a.segmentOption());
        assertEquals(OpsecOption.experimental(3), b.segmentOption());
        a.onSegment(TcpFlags.SYN | ACK, opts(b.synAckOption()));
        a.onSegment(ACK, opts(b.segmentOption()));
        b.onSegment(ACK, opts(a.segmentOption()));
        assertEquals(new NegotiationOutcome.Secured(3, true), a.outcome());
        assertEquals(new NegotiationOutcome.Secured(3, false), b.outcome());
    }

    @Test
    void simultaneousOpen_selectionStrippedOneWay_failsLoudlyNotSplit() {
        Negotiation a = client(OpsecMode.OPPORTUNISTIC, 0);
        Negotiation b = client(OpsecMode.OPPORTUNISTIC, 0);
        List<TcpOption> synA = opts(a.synOption());
        a.onSimultaneousSyn(opts(b.synOption()), true);
        b.onSimultaneousSyn(synA, false);
        a.onSegment(ACK, opts(b.segmentOption()));     // a secured
        b.onSegment(ACK, NONE);                        // stripped toward b: b plain
        assertEquals(new NegotiationOutcome.Secured(0, true), a.outcome());
        assertEquals(new NegotiationOutcome.Plain(PlainReason.OPTION_STRIPPED), b.outcome());
        // a keeps the selection on its data until acknowledged; b sees it and resets.
        assertEquals(Verdict.ABORT, b.onSegment(ACK | TcpFlags.PSH, opts(a.segmentOption())));
    }

    // ------------------------------------------------------------------ SYN cookies (docs/tcp.md)

    /** What a responder decided at the SYN, rebuilt by another from the cookie code, is the same. */
    @Test
    void cookieCode_roundTripsTheSelection_inEveryFraming() {
        OpsecOption[] framings = {OpsecOption.experimental(0),
                new OpsecOption(OpsecOption.Framing.EXPERIMENTAL, OpsecOption.KIND_EXPERIMENT_2, new byte[] {0}),
                OpsecOption.literal(200, 0)};
        int[] supported = {3, 9, 0, 7};
        for (OpsecOption f : framings) {
            for (int id : supported) {
                Negotiation s = Negotiation.responder(OpsecMode.OPPORTUNISTIC, supported, OpsecOption.literal(200, 0));
                s.onSyn(opts(f.withProtocols(id)));
                int code = s.cookieCode();
                assertTrue(code >= 3 && code <= 14, "code " + code);
                Negotiation r = Negotiation.responder(OpsecMode.OPPORTUNISTIC, supported, OpsecOption.literal(200, 0));
                assertTrue(r.restoreFromCookie(code));
                assertEquals(s.synAckOption(), r.synAckOption(), "selection from " + f.withProtocols(id));
                assertEquals(Verdict.CONTINUE, r.onSegment(ACK, opts(s.synAckOption())));
                assertEquals(new NegotiationOutcome.Secured(id, false), r.outcome());
            }
        }
    }

    @Test
    void cookieCode_keepsThePlainReason() {
        List<List<TcpOption>> syns = List.of(NONE, opts(OpsecOption.experimental(5)), opts(OpsecOption.experimental()));
        List<PlainReason> reasons = List.of(PlainReason.PEER_DID_NOT_OFFER, PlainReason.NO_COMMON_PROTOCOL,
                PlainReason.PEER_INVALID_OPTION);
        for (int i = 0; i < 3; i++) {
            Negotiation s = server(OpsecMode.OPPORTUNISTIC, 0);
            s.onSyn(syns.get(i));
            assertEquals(i, s.cookieCode());
            Negotiation r = server(OpsecMode.OPPORTUNISTIC, 0);
            assertTrue(r.restoreFromCookie(i));
            assertEquals(new NegotiationOutcome.Plain(reasons.get(i)), r.outcome());
            assertNull(r.synAckOption());
        }
        Negotiation off = server(OpsecMode.OFF, 0);
        off.onSyn(opts(OpsecOption.experimental(0)));
        assertEquals(0, off.cookieCode());
        Negotiation offRestored = server(OpsecMode.OFF, 0);
        assertTrue(offRestored.restoreFromCookie(0));
        assertEquals(new NegotiationOutcome.Plain(PlainReason.LOCAL_POLICY), offRestored.outcome());
    }

    @Test
    void cookieCode_doesNotFit_forAFifthProtocol_orARefusedSyn() {
        Negotiation s = server(OpsecMode.OPPORTUNISTIC, 1, 2, 3, 4, 5);
        s.onSyn(opts(OpsecOption.experimental(5)));
        assertEquals(-1, s.cookieCode(), "the fifth supported id");
        Negotiation req = server(OpsecMode.REQUIRED, 0);
        req.onSyn(NONE);
        assertEquals(-1, req.cookieCode(), "refused at the SYN: no cookie either");
        assertEquals(-1, client(OpsecMode.OPPORTUNISTIC, 0).cookieCode(), "an initiator has none");
    }

    @Test
    void restoreFromCookie_refusesCodesItCouldNotHaveGiven() {
        assertTrue(!server(OpsecMode.OPPORTUNISTIC, 0).restoreFromCookie(3 + 3), "index 1 of one protocol");
        assertTrue(!server(OpsecMode.OPPORTUNISTIC, 0).restoreFromCookie(3 + 2), "literal framing not configured");
        assertTrue(!server(OpsecMode.OPPORTUNISTIC, 0).restoreFromCookie(15));
        assertTrue(!server(OpsecMode.OPPORTUNISTIC, 0).restoreFromCookie(-1));
        assertTrue(!server(OpsecMode.OFF, 0).restoreFromCookie(3), "a selection while OFF");
        Negotiation req = server(OpsecMode.REQUIRED, 0);
        assertTrue(req.restoreFromCookie(0));
        assertTrue(req.outcome() instanceof NegotiationOutcome.Failed, "REQUIRED: a plain restore fails");
    }
}
