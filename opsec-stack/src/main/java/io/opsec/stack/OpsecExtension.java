package io.opsec.stack;

import io.opsec.stack.opsec.Negotiation;
import io.opsec.stack.opsec.NegotiationOutcome;
import io.opsec.stack.opsec.OpsecPathCache;
import io.opsec.stack.opsec.PlainReason;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpExtension;
import io.opsec.stack.tcp.TcpState;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Plugs one connection's {@link Negotiation} into the TCP machine's handshake hook: options out on
 * the SYN, SYN-ACK and the segments that carry the echo; options in from every segment, with the
 * power to reset the connection when the negotiation detects that the ends disagree.
 */
final class OpsecExtension implements TcpExtension {
    private final Negotiation negotiation;
    private final OpsecPathCache pathCache;
    private final int remoteAddress;
    private final LongSupplier clock;
    private final int timeoutsBeforeFallback;
    private TcpConnection tcp;
    private boolean synAnswered;
    private Runnable onDecision = () -> { };

    OpsecExtension(Negotiation negotiation, OpsecPathCache pathCache, int remoteAddress, LongSupplier clock) {
        this(negotiation, pathCache, remoteAddress, clock, OpsecPathCache.DEFAULT_TIMEOUTS_BEFORE_FALLBACK);
    }

    OpsecExtension(Negotiation negotiation, OpsecPathCache pathCache, int remoteAddress, LongSupplier clock,
                   int timeoutsBeforeFallback) {
        this.negotiation = negotiation;
        this.pathCache = pathCache;
        this.remoteAddress = remoteAddress;
        this.clock = clock;
        this.timeoutsBeforeFallback = timeoutsBeforeFallback;
    }

    /** The connection this extension serves, once it exists (for the simultaneous-open tie-break). */
    void bind(TcpConnection tcp) {
        this.tcp = tcp;
    }

    Negotiation negotiation() {
        return negotiation;
    }

    /**
     * Runs {@code r} whenever the negotiation's outcome changes. The segment that settles it may
     * raise no connection event (in a simultaneous open, the ACK carrying the selection arrives
     * after both ends are ESTABLISHED), so the runtime needs this to move the connection on.
     */
    void onDecision(Runnable r) {
        this.onDecision = r;
    }

    private <T> T noting(java.util.function.Supplier<T> step) {
        NegotiationOutcome before = negotiation.outcome();
        T result = step.get();
        if (!negotiation.outcome().equals(before)) {
            onDecision.run();
        }
        return result;
    }

    @Override
    public List<TcpOption> synOptions(int attempt) {
        if (attempt >= timeoutsBeforeFallback && negotiation.synOption() != null) {
            // The path may drop SYNs with options it does not know: retry plain and remember it.
            negotiation.fallBackToPlainSyn();
            pathCache.markBroken(remoteAddress, clock.getAsLong());
        }
        return one(negotiation.synOption());
    }

    @Override
    public List<TcpOption> synAckOptions(TcpHeader peerSyn, boolean simultaneousOpen) {
        return noting(() -> answerSyn(peerSyn, simultaneousOpen));
    }

    private List<TcpOption> answerSyn(TcpHeader peerSyn, boolean simultaneousOpen) {
        if (simultaneousOpen) {
            negotiation.onSimultaneousSyn(peerSyn.options(), localSortsFirst(peerSyn));
        } else if (!synAnswered) {
            negotiation.onSyn(peerSyn.options());
        }
        synAnswered = true;
        return one(negotiation.synAckOption());
    }

    @Override
    public int synCookieState() {
        return negotiation.cookieCode();
    }

    @Override
    public List<TcpOption> synAckOptionsFromCookie(int state) {
        return noting(() -> {
            if (!negotiation.restoreFromCookie(state)) {
                return null;
            }
            synAnswered = true;
            return one(negotiation.synAckOption());
        });
    }

    @Override
    public List<TcpOption> segmentOptions() {
        return one(negotiation.segmentOption());
    }

    @Override
    public Verdict onSegment(TcpHeader h, int payloadLength, TcpState state) {
        return noting(() -> decide(h, state));
    }

    private Verdict decide(TcpHeader h, TcpState state) {
        Negotiation.Verdict v;
        if (state == TcpState.LISTEN && h.has(TcpFlags.SYN) && !h.has(TcpFlags.ACK)) {
            // Select now, not when the SYN-ACK is built, so a REQUIRED listener refuses a SYN that
            // cannot lead to a secured connection with a reset at once (docs/negotiation.md).
            v = negotiation.onSyn(h.options());
            synAnswered = true;
        } else if (h.has(TcpFlags.SYN) && h.has(TcpFlags.ACK) && state == TcpState.SYN_SENT) {
            v = negotiation.onSynAck(h.options());
            if (negotiation.outcome() instanceof NegotiationOutcome.Secured) {
                pathCache.forget(remoteAddress);
            }
        } else {
            v = negotiation.onSegment(h.flags(), h.options());
            if (negotiation.segmentOption() != null && tcp != null && h.has(TcpFlags.ACK)
                    && SeqNum.gt(h.ack(), tcp.info().iss() + 1)) {
                // The peer acknowledged data sent after the handshake: it has seen the echo.
                negotiation.peerAcknowledgedData();
            }
        }
        if (negotiation.outcome() instanceof NegotiationOutcome.Plain p && p.reason() == PlainReason.OPTION_STRIPPED) {
            LoggerHolder.log.debug("OPSEC echo missing from {}: running plain", h);
        }
        return v == Negotiation.Verdict.ABORT ? Verdict.ABORT : Verdict.ACCEPT;
    }

    private boolean localSortsFirst(TcpHeader peerSyn) {
        if (tcp == null) {
            return true;
        }
        int cmp = Integer.compareUnsigned(tcp.localAddress(), tcp.remoteAddress());
        if (cmp == 0) {
            cmp = Integer.compare(tcp.localPort(), peerSyn.sourcePort());
        }
        return cmp < 0;
    }

    private static List<TcpOption> one(OpsecOption o) {
        return o == null ? List.of() : List.of(o);
    }

    private static final class LoggerHolder {
        static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(OpsecExtension.class);
    }
}
