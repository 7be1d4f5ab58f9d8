package io.opsec.stack.opsec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The security association of one connection: it turns the application's byte stream into the
 * protected byte stream that TCP carries, and back (draft-paddon-tcp-opsec §3.4).
 *
 * <p><b>Shape.</b> A session is a pure state machine, like the TCP core: no threads, no I/O, no
 * clock, and no call ever blocks. The owner feeds it in two directions and drains it in two
 * directions, and must drain after every call that can produce output:
 * <pre>
 *   TCP receive  --receiveFromNetwork-->  [session]  --pollApplicationInput-->  application
 *   application  --sendFromApplication--> [session]  --pollNetworkOutput----->  TCP send
 * </pre>
 * {@link #start()} begins the handshake (a client produces its first flight then). Handshake
 * messages are produced by {@link #receiveFromNetwork(ByteBuf)} as needed; the owner sends
 * whatever {@link #pollNetworkOutput(ByteBufAllocator)} returns, in order, on the connection.
 *
 * <p><b>Lifecycle.</b> HANDSHAKING until {@link #isEstablished()} becomes true; application data
 * may be written only then (§3.4: the association is complete before any application data
 * moves; the owner holds earlier writes). {@link #closeOutbound()} queues this end's orderly
 * close (for TLS, close_notify) and the owner sends TCP FIN only after draining it (READING-NOTES
 * decision 6). {@link #isInboundClosed()} turns true when the peer's orderly close has been
 * read; a TCP FIN or RST before that must be reported with {@link #networkEnded(boolean)}, which
 * fails with a truncation error. Each direction closes on its own: a session whose peer has
 * closed can still send until it closes too (half-close).
 *
 * <p><b>Failure.</b> Every failure is a checked {@link SecurityFailure} naming the alert and who
 * raised it. A failed session is dead: later feeding calls throw the same failure again. When
 * this end detected the failure, the alert it raised is left in the network output; the owner
 * may send it before resetting the connection (§3.4: "reset and abandon the TCP connection";
 * READING-NOTES decision 5: never fall back to plaintext).
 *
 * <p><b>Buffers.</b> Every method documents ownership: parameters are <em>borrowed</em> (read,
 * never retained, never released, never written to) and results are <em>owned by the
 * caller</em>, who must release them.
 *
 * <p><b>Back-pressure.</b> The session buffers without bound in both directions; the owner
 * limits what it feeds by the space it has, using {@link #pendingNetworkOutput()} and
 * {@link #pendingApplicationInput()} (for example: stop reading TCP while the application has
 * not taken what was decrypted, stop taking application writes while ciphertext waits for send
 * window).
 *
 * <p>A session is not thread-safe: one thread (the connection's event loop) owns it.
 */
public interface SecuritySession {

    /**
     * Begins the handshake. A client queues its first flight, to be taken with
     * {@link #pollNetworkOutput(ByteBufAllocator)}; a server waits for it. Call exactly once, when
     * the TCP connection is ESTABLISHED and the security protocol is agreed.
     *
     * @throws SecurityFailure if the protocol cannot start (for example a configuration the
     *         engine rejects)
     * @throws IllegalStateException if called twice
     */
    void start() throws SecurityFailure;

    /**
     * Feeds bytes that arrived from the peer on the connection, in order. All readable bytes
     * are consumed (the reader index moves to the writer index); records may arrive split at any
     * byte, even one byte per call.
     *
     * @param ciphertext protected bytes from TCP; <b>borrowed</b>: read once, not retained, not
     *                   released, never modified
     * @throws SecurityFailure if the bytes are not acceptable (bad record MAC, unexpected
     *         message, undecodable data, a fatal alert from the peer, ...); the session is
     *         failed from then on
     * @throws IllegalStateException if called before {@link #start()}
     */
    void receiveFromNetwork(ByteBuf ciphertext) throws SecurityFailure;

    /**
     * Protects application bytes for sending. All readable bytes are consumed and queued as
     * protected records for {@link #pollNetworkOutput(ByteBufAllocator)}.
     *
     * @param plaintext application bytes; <b>borrowed</b>: read once, not retained, not
     *                  released, never modified
     * @throws SecurityFailure if the session has failed
     * @throws IllegalStateException if not {@link #isEstablished() established} or after
     *         {@link #closeOutbound()}
     */
    void sendFromApplication(ByteBuf plaintext) throws SecurityFailure;

    /**
     * Takes everything waiting to go on the wire: handshake messages, protected records,
     * alerts.
     *
     * @param alloc where the returned buffer comes from
     * @return the bytes, <b>owned by the caller</b> (who must release them), or {@code null}
     *         when nothing is waiting
     */
    ByteBuf pollNetworkOutput(ByteBufAllocator alloc);

    /**
     * Takes the application bytes decrypted so far.
     *
     * @param alloc where the returned buffer comes from
     * @return the bytes, <b>owned by the caller</b> (who must release them), or {@code null}
     *         when nothing is waiting
     */
    ByteBuf pollApplicationInput(ByteBufAllocator alloc);

    /** Bytes waiting for {@link #pollNetworkOutput(ByteBufAllocator)}. */
    int pendingNetworkOutput();

    /** Bytes waiting for {@link #pollApplicationInput(ByteBufAllocator)}. */
    int pendingApplicationInput();

    /** True once the handshake has completed and application data may flow. */
    boolean isEstablished();

    /**
     * Closes this end's sending direction in order: queues the orderly close (for TLS, a
     * close_notify alert, RFC 5246 §7.2.1) for {@link #pollNetworkOutput(ByteBufAllocator)}.
     * The owner sends TCP FIN after it. Receiving continues until the peer closes too.
     * Idempotent. Before the handshake completes this abandons the handshake (for TLS:
     * user_canceled then close_notify) and the session is closed in both directions.
     *
     * @throws SecurityFailure if the session has failed
     */
    void closeOutbound() throws SecurityFailure;

    /** True after {@link #closeOutbound()}. */
    boolean isOutboundClosed();

    /**
     * True once the peer's orderly close (for TLS, its close_notify) has been read: the
     * application's stream has ended cleanly and TCP FIN may follow.
     */
    boolean isInboundClosed();

    /**
     * Reports that the transport ended in the receiving direction: a TCP FIN ({@code reset ==
     * false}) or RST ({@code reset == true}) arrived. Before the peer's orderly close, that is a
     * truncation and fails the session (READING-NOTES decision 6); after it, it is the normal end
     * of the connection and nothing happens.
     *
     * @throws SecurityFailure the truncation (or the session's earlier failure)
     */
    void networkEnded(boolean reset) throws SecurityFailure;

    /** True once the session has failed; {@link #failure()} says how. */
    boolean isFailed();

    /** The failure that ended the session, or {@code null} while it has not failed. */
    SecurityFailure failure();

    /**
     * What was negotiated: protocol, cipher suite, the per-connection session id and the peer's
     * key fingerprint.
     *
     * @throws IllegalStateException before {@link #isEstablished()}
     */
    SessionInfo info();
}
