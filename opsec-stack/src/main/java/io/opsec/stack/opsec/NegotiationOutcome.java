package io.opsec.stack.opsec;

/** Where an OPSEC negotiation stands, for one connection. */
public sealed interface NegotiationOutcome {

    /** Still undecided: the handshake has not yet shown what both ends agreed. */
    record Pending() implements NegotiationOutcome {}

    /**
     * Both ends agreed on {@code protocol}; the security association runs before any application
     * data (draft §3.4).
     *
     * @param protocol   the selected protocol id
     * @param clientRole whether this end takes the client role of that protocol (the active
     *                   opener does; in a simultaneous open, the end with the lower address and port)
     */
    record Secured(int protocol, boolean clientRole) implements NegotiationOutcome {}

    /** Plain RFC 9293 TCP, and why. */
    record Plain(PlainReason reason) implements NegotiationOutcome {}

    /** The negotiation broke its rules in a way that could leave the ends disagreeing: reset the connection. */
    record Failed(String reason) implements NegotiationOutcome {}

    /** The single pending value. */
    NegotiationOutcome PENDING = new Pending();
}
