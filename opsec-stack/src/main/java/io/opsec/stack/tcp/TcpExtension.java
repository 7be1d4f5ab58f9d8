package io.opsec.stack.tcp;

import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import java.util.List;

/**
 * A per-connection hook into the handshake, through which a protocol riding on TCP options
 * (OPSEC, draft-paddon-tcp-opsec) adds options and watches the peer's. TCP owns framing, timing
 * and the 40-byte budget; the extension owns the meaning. Every method is called synchronously
 * from inside {@link TcpEndpoint#receive}, {@link TcpEndpoint#poll} or a connection call, on the
 * caller's thread, and must not call back into the connection except to read it.
 *
 * <p>Byte-identical retransmission (draft §3.5): TCP asks {@link #synOptions(int)} once per
 * attempt and {@link #synAckOptions} once per received SYN, and re-sends exactly those options
 * each time the same segment is retransmitted.
 */
public interface TcpExtension {

    /** What the extension wants done with a received segment. */
    enum Verdict {
        /** Process the segment normally. */
        ACCEPT,
        /** Protocol violation: send a RST and fail the connection with {@link TcpError#EXTENSION}. */
        ABORT
    }

    /**
     * Called once when the connection is created, before any other method, so the extension can
     * read the connection later (its {@link TcpConnection#info()}: for instance whether SND.UNA
     * has passed ISS + 1, that is, whether the peer has acknowledged data).
     */
    default void attach(TcpConnection connection) {}

    /**
     * Extra options for our SYN. {@code attempt} is 0 for the first transmission and counts the
     * retransmissions after it, so the extension can stop proposing after a few timeouts (the
     * fallback Linux uses for TFO when a path drops SYNs with unknown options). The result is
     * remembered per attempt.
     */
    default List<TcpOption> synOptions(int attempt) {
        return List.of();
    }

    /**
     * Extra options for the SYN-ACK we send in answer to {@code peerSyn}. Called once when the
     * SYN is accepted (and again if a simultaneous open makes us answer a SYN after sending
     * ours, with {@code simultaneousOpen} true); the result is re-sent verbatim on every
     * retransmission of the SYN-ACK.
     */
    default List<TcpOption> synAckOptions(TcpHeader peerSyn, boolean simultaneousOpen) {
        return List.of();
    }

    /**
     * Extra options for a non-SYN segment we are about to send (the handshake-completing ACK,
     * data, pure ACKs, FIN). Called as each such segment is built, and possibly for one that is
     * then held back (Nagle, window), so it should not count calls as segments sent; return an
     * empty list when done echoing. SACK blocks give way to these options within the 40 bytes;
     * options that do not fit beside timestamps are left out (and logged). In a simultaneous
     * open the crossing SYN-ACKs complete the handshake with no further segment (RFC 9293
     * Figure 8); when an extension is attached TCP then sends one ACK so these options have a
     * segment to ride on.
     */
    default List<TcpOption> segmentOptions() {
        return List.of();
    }

    /**
     * Every segment received on the connection that passed TCP's acceptance checks, before it is
     * processed, with the state it arrived in (for a SYN-ACK, SYN-SENT). Return
     * {@link Verdict#ABORT} to reset the connection.
     */
    default Verdict onSegment(TcpHeader header, int payloadLength, TcpState state) {
        return Verdict.ACCEPT;
    }

    /** The connection reached ESTABLISHED; {@code activeOpen} says whether we sent the first SYN. */
    default void onEstablished(boolean activeOpen) {}

    /**
     * SYN cookies (RFC 4987 §3.6): what {@link #synAckOptions} decided, as a number from 0 to 15
     * that the listener carries in the cookie, or -1 when it does not fit (then no cookie is sent
     * and the SYN is dropped, as without cookies). A listener answering with a cookie makes an
     * extension per SYN, asks {@link #onSegment} (state LISTEN), {@link #synAckOptions} and this,
     * and then forgets it: no connection exists, {@link #attach} is never called.
     */
    default int synCookieState() {
        return 0;
    }

    /**
     * SYN cookies: a valid cookie came back, and this new extension serves the connection made from
     * it (after {@link #attach}, before the completing segment goes to {@link #onSegment} in
     * SYN-RECEIVED). Restores what {@link #synAckOptions} set up from the state
     * {@link #synCookieState} gave, and returns the options the SYN-ACK carried; {@code null} when
     * the state is not one this extension could have given, which fails the cookie.
     */
    default List<TcpOption> synAckOptionsFromCookie(int state) {
        return state == 0 ? List.of() : null;
    }
}
