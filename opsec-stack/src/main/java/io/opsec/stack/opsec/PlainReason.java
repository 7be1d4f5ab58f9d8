package io.opsec.stack.opsec;

/** Why a connection runs as plain TCP, reported in its security status. */
public enum PlainReason {
    /** The socket's mode, or the per-port rule, was OFF (local policy, draft §5). */
    LOCAL_POLICY("local policy turned OPSEC off"),
    /** As initiator: the SYN-ACK carried no OPSEC option (the peer does not speak OPSEC, or declined). */
    PEER_DID_NOT_ANSWER("the peer did not answer the OPSEC proposal"),
    /** As responder: the SYN carried no OPSEC option. */
    PEER_DID_NOT_OFFER("the peer did not offer OPSEC"),
    /** Both spoke OPSEC but had no protocol in common. */
    NO_COMMON_PROTOCOL("no security protocol in common"),
    /** As responder: we selected a protocol but the completing ACK did not echo it (stripped on the path). */
    OPTION_STRIPPED("the OPSEC echo did not arrive: the option was stripped on the path"),
    /** The peer sent an OPSEC option that breaks the draft's rules; it was ignored. */
    PEER_INVALID_OPTION("the peer's OPSEC option was invalid and was ignored"),
    /** SYNs with OPSEC went unanswered, so the SYN was retried without it (and the path remembered). */
    FALLBACK_AFTER_SYN_TIMEOUTS("SYNs carrying OPSEC timed out; retried without it");

    private final String description;

    PlainReason(String description) {
        this.description = description;
    }

    /** A short human sentence for status lines. */
    public String description() {
        return description;
    }
}
