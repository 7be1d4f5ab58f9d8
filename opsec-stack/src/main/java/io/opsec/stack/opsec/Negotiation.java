package io.opsec.stack.opsec;

import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The OPSEC negotiation of one connection (draft-paddon-tcp-opsec-01 §3, reading notes decisions
 * 2, 3, 4 and 12). Pure: the TCP machine calls it as handshake segments go out and come in, and
 * it answers with options to send and with verdicts. It never reads a clock.
 *
 * <p>The exchange, for the normal case:
 * <pre>
 *   initiator                                   responder
 *   SYN      opsec [ids, most preferred first] -&gt;
 *                                            &lt;- SYN-ACK  opsec [one selected id]
 *   ACK      opsec [the same id] (the echo)   -&gt;          commits on the echo
 * </pre>
 * The initiator commits when the SYN-ACK selects a protocol it proposed. The responder commits only
 * when a non-SYN segment echoes its selection (a lost ACK is covered: the initiator keeps the echo
 * on every segment until the responder acknowledges its data). A responder that sees no echo runs
 * plain; one that later sees an OPSEC option after committing to plain resets the connection,
 * since the initiator must then believe the connection secured. That keeps the rule "both
 * secured, both plain, or a loud failure" (decision 3) whatever a middlebox strips.
 *
 * <p>Invalid options (see {@code docs/negotiation.md}): a proposal with no ids is ignored (plain);
 * a SYN-ACK that selects several ids, none, or an id that was not proposed is ignored by the
 * initiator, which then sends no echo, so the responder runs plain too; an echo that differs from
 * the selection, or several OPSEC options in one segment after the SYN, fails the connection.
 * {@link OpsecMode#REQUIRED} turns every plain outcome into a failure.
 */
public final class Negotiation {
    /** What the TCP machine should do after a received segment. */
    public enum Verdict { CONTINUE, ABORT }

    private final boolean initiator;
    private final OpsecMode mode;
    private final int[] supported;
    private final OpsecOption proposal;
    private final OpsecOption framing;
    private OpsecOption selection;
    private NegotiationOutcome outcome = NegotiationOutcome.PENDING;
    private boolean simultaneous;
    private boolean echoing;
    private boolean offeredAnything;
    private boolean fallback;
    private boolean localFirst;

    private Negotiation(boolean initiator, OpsecMode mode, int[] supported, OpsecOption template) {
        this.initiator = initiator;
        this.mode = mode;
        this.supported = supported.clone();
        this.framing = template;
        this.proposal = (mode == OpsecMode.OFF || supported.length == 0) ? null : template.withProtocols(supported);
        if (mode == OpsecMode.OFF) {
            outcome = new NegotiationOutcome.Plain(PlainReason.LOCAL_POLICY);
        } else if (supported.length == 0) {
            // No security protocol installed: nothing to propose or select.
            outcome = plainOrFail(PlainReason.LOCAL_POLICY);
        }
    }

    /**
     * The negotiation of an active open.
     *
     * @param mode      the mode that applies to this socket
     * @param supported the protocol ids this end can run, most preferred first (draft §3.2)
     * @param framing   an option whose framing and kind are used for everything sent
     */
    public static Negotiation initiator(OpsecMode mode, int[] supported, OpsecOption framing) {
        return new Negotiation(true, mode, supported, framing);
    }

    /** The negotiation of a passive open (a connection created by a listener from a SYN). */
    public static Negotiation responder(OpsecMode mode, int[] supported, OpsecOption framing) {
        return new Negotiation(false, mode, supported, framing);
    }

    public boolean isInitiator() {
        return initiator;
    }

    public NegotiationOutcome outcome() {
        return outcome;
    }

    public OpsecMode mode() {
        return mode;
    }

    // ---------------------------------------------------------------- what we send

    /**
     * The option for our SYN, or {@code null}. The same instance on every retransmission, so the
     * bytes are identical (draft §3.5). After {@link #fallBackToPlainSyn()} it is {@code null}.
     */
    public OpsecOption synOption() {
        if (!initiator || fallback) {
            return null;
        }
        if (proposal != null) {
            offeredAnything = true;
        }
        return proposal;
    }

    /**
     * The option for our SYN-ACK: the selection made from the peer's SYN (same instance on every
     * retransmission, draft §3.5), or in a simultaneous open our own proposal again, since that
     * SYN-ACK retransmits our SYN.
     */
    public OpsecOption synAckOption() {
        if (simultaneous) {
            return fallback ? null : proposal;
        }
        return selection;
    }

    /**
     * The option for a non-SYN segment we send: the echo (initiator) or the selection (simultaneous
     * open) while the peer may not yet have seen it; otherwise {@code null}.
     */
    public OpsecOption segmentOption() {
        return echoing ? selection : null;
    }

    /**
     * The SYN went unanswered too often: retry it without OPSEC (the path may drop SYNs with
     * unknown options, as Linux assumes for TFO). The outcome becomes plain with
     * {@link PlainReason#FALLBACK_AFTER_SYN_TIMEOUTS}.
     */
    // DEVIATION: draft §3.5 wants identical options on retransmissions; a SYN without the option
    // is treated as a new attempt on a path that rejects it, which the draft does not address.
    public void fallBackToPlainSyn() {
        if (!initiator || fallback) {
            return;
        }
        fallback = true;
        if (outcome instanceof NegotiationOutcome.Pending) {
            outcome = plainOrFail(PlainReason.FALLBACK_AFTER_SYN_TIMEOUTS);
        }
    }

    /** Whether the SYN has fallen back to plain. */
    public boolean fellBack() {
        return fallback;
    }

    /** The peer acknowledged data we sent after the handshake: it has seen our echo, stop sending it. */
    public void peerAcknowledgedData() {
        echoing = false;
    }

    // ---------------------------------------------------------------- what we receive

    /**
     * Responder: the SYN arrived. Chooses the protocol for the SYN-ACK (draft §3.3: any proposed id;
     * we take the first of the peer's list that we support, honouring its preference).
     *
     * @return {@link Verdict#ABORT} when the connection can no longer be secured and this end
     *         requires it ({@link OpsecMode#REQUIRED}): the listener refuses the SYN with a reset
     *         rather than complete a handshake only to reset it ({@code docs/negotiation.md})
     */
    public Verdict onSyn(List<TcpOption> options) {
        if (initiator || !(outcome instanceof NegotiationOutcome.Pending)) {
            return verdict(); // OFF, or nothing installed to select
        }
        List<OpsecOption> found = opsecOptions(options);
        if (found.isEmpty()) {
            outcome = plainOrFail(PlainReason.PEER_DID_NOT_OFFER);
            return verdict();
        }
        if (found.size() > 1 || !found.get(0).isValid()) {
            outcome = plainOrFail(PlainReason.PEER_INVALID_OPTION);
            return verdict();
        }
        for (int id : found.get(0).protocolIds()) {
            if (supports(id)) {
                selection = proposalTemplate(found.get(0)).withProtocols(id);
                return verdict();
            }
        }
        outcome = plainOrFail(PlainReason.NO_COMMON_PROTOCOL);
        return verdict();
    }

    /**
     * Responder: what {@link #onSyn} decided, as a number from 0 to 14 that a SYN cookie carries
     * (RFC 4987 §3.6; {@code docs/tcp.md}), or -1 when it does not fit. 0, 1 and 2 are "nothing
     * selected" (peer did not offer or local policy, no common protocol, invalid option); from 3 on,
     * {@code 3 + 3 * index + framing}: the selection is the supported id at {@code index} (0..3) in
     * the framing the SYN used (0: kind 253, 1: kind 254, 2: the literal kind).
     */
    public int cookieCode() {
        if (initiator || simultaneous) {
            return -1;
        }
        if (selection == null) {
            if (outcome instanceof NegotiationOutcome.Plain p) {
                return switch (p.reason()) {
                    case NO_COMMON_PROTOCOL -> 1;
                    case PEER_INVALID_OPTION -> 2;
                    default -> 0;
                };
            }
            return -1; // failed (REQUIRED refuses at the SYN), or the SYN was not seen
        }
        int id = selection.protocolIds()[0];
        int index = 0;
        while (index < supported.length && supported[index] != id) {
            index++;
        }
        if (index > 3) {
            return -1;
        }
        int f;
        if (selection.framing() == OpsecOption.Framing.EXPERIMENTAL) {
            f = selection.kind() == OpsecOption.KIND_EXPERIMENT_1 ? 0 : 1;
        } else if (framing.framing() == OpsecOption.Framing.LITERAL && selection.kind() == framing.kind()) {
            f = 2;
        } else {
            return -1;
        }
        return 3 + 3 * index + f;
    }

    /**
     * Responder made from a SYN cookie: takes the decision {@link #cookieCode()} encoded as if
     * {@link #onSyn} had made it, and then waits for the echo as usual.
     *
     * @return false when the code is not one this responder could have given (the cookie fails)
     */
    public boolean restoreFromCookie(int code) {
        if (initiator || simultaneous || code < 0 || code > 14) {
            return false;
        }
        if (code < 3) {
            if (outcome instanceof NegotiationOutcome.Pending) {
                outcome = plainOrFail(code == 1 ? PlainReason.NO_COMMON_PROTOCOL
                        : code == 2 ? PlainReason.PEER_INVALID_OPTION : PlainReason.PEER_DID_NOT_OFFER);
            }
            return true;
        }
        int index = (code - 3) / 3;
        int f = (code - 3) % 3;
        if (!(outcome instanceof NegotiationOutcome.Pending) || index >= supported.length) {
            return false;
        }
        int id = supported[index];
        if (f == 2) {
            if (framing.framing() != OpsecOption.Framing.LITERAL) {
                return false;
            }
            selection = framing.withProtocols(id);
        } else {
            selection = OpsecOption.experimental(id);
            if (f == 1) {
                selection = new OpsecOption(OpsecOption.Framing.EXPERIMENTAL, OpsecOption.KIND_EXPERIMENT_2,
                        selection.protocols());
            }
        }
        return true;
    }

    /**
     * Initiator in SYN-SENT received a SYN without ACK: a simultaneous open (draft §3.3). Both ends
     * select the highest numbered id common to the two proposals, and send it on their ACKs.
     *
     * @param localBeforeRemote whether our (address, port) sorts before the peer's; that end takes
     *                          the client role (reading notes, decision 4)
     */
    public void onSimultaneousSyn(List<TcpOption> options, boolean localBeforeRemote) {
        simultaneous = true;
        this.localFirst = localBeforeRemote;
        if (proposal == null || fallback) {
            if (outcome instanceof NegotiationOutcome.Pending) {
                outcome = plainOrFail(PlainReason.LOCAL_POLICY);
            }
            return;
        }
        List<OpsecOption> found = opsecOptions(options);
        if (found.size() != 1 || !found.get(0).isValid()) {
            outcome = plainOrFail(found.isEmpty() ? PlainReason.PEER_DID_NOT_OFFER : PlainReason.PEER_INVALID_OPTION);
            return;
        }
        int best = -1;
        for (int id : found.get(0).protocolIds()) {
            if (proposal.contains(id) && id > best) {
                best = id;
            }
        }
        if (best < 0) {
            outcome = plainOrFail(PlainReason.NO_COMMON_PROTOCOL);
            return;
        }
        selection = proposal.withProtocols(best);
        echoing = true;
    }

    /**
     * Initiator: the SYN-ACK arrived (SYN-SENT to ESTABLISHED). Commits to the selected protocol,
     * or to plain TCP.
     */
    public Verdict onSynAck(List<TcpOption> options) {
        if (!initiator || simultaneous || !(outcome instanceof NegotiationOutcome.Pending)) {
            return verdict();
        }
        List<OpsecOption> found = opsecOptions(options);
        if (found.isEmpty()) {
            outcome = plainOrFail(PlainReason.PEER_DID_NOT_ANSWER);
        } else if (found.size() > 1 || found.get(0).count() != 1 || !proposal.contains(found.get(0).protocolIds()[0])) {
            // draft §3.3: "exactly one protocol selected from the list proposed". Ignore it and send
            // no echo: the responder then runs plain as well.
            outcome = plainOrFail(PlainReason.PEER_INVALID_OPTION);
        } else {
            selection = proposal.withProtocols(found.get(0).protocolIds()[0]);
            echoing = true;
            outcome = new NegotiationOutcome.Secured(selection.protocolIds()[0], true);
        }
        return verdict();
    }

    /**
     * Any non-SYN segment received once the SYN has been answered: the responder's completing ACK
     * (or the data segment that arrives in its place), the simultaneous-open ACKs, and every later
     * segment. Decides the responder's commitment, and detects a peer that believes otherwise.
     */
    public Verdict onSegment(int flags, List<TcpOption> options) {
        boolean syn = (flags & 0x02) != 0;
        boolean rst = (flags & 0x04) != 0;
        if (syn || rst || outcome instanceof NegotiationOutcome.Failed) {
            return verdict();
        }
        if (initiator && !simultaneous && outcome instanceof NegotiationOutcome.Pending) {
            return verdict(); // the initiator decides on the SYN-ACK, not before
        }
        List<OpsecOption> found = opsecOptions(options);
        if (outcome instanceof NegotiationOutcome.Pending) {
            if (selection == null) {
                outcome = plainOrFail(PlainReason.PEER_DID_NOT_OFFER);
                return verdict();
            }
            if (found.isEmpty()) {
                outcome = plainOrFail(PlainReason.OPTION_STRIPPED);
            } else if (found.size() == 1 && found.get(0).equals(selection)) {
                boolean client = simultaneous ? localFirst : initiator;
                outcome = new NegotiationOutcome.Secured(selection.protocolIds()[0], client);
            } else {
                outcome = new NegotiationOutcome.Failed("the OPSEC echo " + found + " does not match the selection "
                        + selection);
            }
            return verdict();
        }
        if (found.isEmpty()) {
            return verdict();
        }
        if (outcome instanceof NegotiationOutcome.Plain && offeredOrSelected()) {
            // The peer still carries OPSEC after we settled on plain: it must believe the connection
            // secured. Reset rather than let one side speak plaintext to the other's TLS (decision 3).
            outcome = new NegotiationOutcome.Failed("the peer sent " + found + " on a connection settled as plain");
        } else if (outcome instanceof NegotiationOutcome.Secured && (found.size() > 1 || !found.get(0).equals(selection))) {
            outcome = new NegotiationOutcome.Failed("the peer sent " + found + " after agreeing on " + selection);
        }
        return verdict();
    }

    private boolean offeredOrSelected() {
        return offeredAnything || selection != null;
    }

    private Verdict verdict() {
        return outcome instanceof NegotiationOutcome.Failed ? Verdict.ABORT : Verdict.CONTINUE;
    }

    private NegotiationOutcome plainOrFail(PlainReason reason) {
        if (mode == OpsecMode.REQUIRED) {
            return new NegotiationOutcome.Failed("OPSEC is required but the connection would be plain: "
                    + reason.description());
        }
        return new NegotiationOutcome.Plain(reason);
    }

    private boolean supports(int id) {
        for (int s : supported) {
            if (s == id) {
                return true;
            }
        }
        return false;
    }

    /** Answers in the framing the peer used (it recognised its own). */
    private OpsecOption proposalTemplate(OpsecOption received) {
        return received;
    }

    private static List<OpsecOption> opsecOptions(List<TcpOption> options) {
        List<OpsecOption> out = new ArrayList<>(1);
        for (TcpOption o : options) {
            if (o instanceof OpsecOption op) {
                out.add(op);
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "Negotiation[" + (initiator ? "initiator" : "responder") + (simultaneous ? ", simultaneous" : "")
                + ", " + mode + ", proposal " + proposal + ", selection " + selection + ", " + outcome + "]";
    }
}
