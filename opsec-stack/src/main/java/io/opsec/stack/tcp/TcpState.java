package io.opsec.stack.tcp;

/** The eleven connection states of RFC 9293 §3.3.2, printed as the RFC spells them ("SYN-RECEIVED"). */
public enum TcpState {
    CLOSED("CLOSED"),
    LISTEN("LISTEN"),
    SYN_SENT("SYN-SENT"),
    SYN_RECEIVED("SYN-RECEIVED"),
    ESTABLISHED("ESTABLISHED"),
    FIN_WAIT_1("FIN-WAIT-1"),
    FIN_WAIT_2("FIN-WAIT-2"),
    CLOSE_WAIT("CLOSE-WAIT"),
    CLOSING("CLOSING"),
    LAST_ACK("LAST-ACK"),
    TIME_WAIT("TIME-WAIT");

    private final String rfcName;

    TcpState(String rfcName) {
        this.rfcName = rfcName;
    }

    /** Both SYNs have been seen: every state from ESTABLISHED on (RFC 9293 §3.3.2 "synchronized"). */
    public boolean isSynchronized() {
        return ordinal() >= ESTABLISHED.ordinal();
    }

    /** The local side may still queue data to send: ESTABLISHED and CLOSE-WAIT, plus the handshake states. */
    public boolean canSend() {
        return this == SYN_SENT || this == SYN_RECEIVED || this == ESTABLISHED || this == CLOSE_WAIT;
    }

    /** Data from the peer is still accepted: ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 (RFC 9293 §3.10.7.4, seventh). */
    public boolean canReceive() {
        return this == ESTABLISHED || this == FIN_WAIT_1 || this == FIN_WAIT_2;
    }

    @Override
    public String toString() {
        return rfcName;
    }
}
