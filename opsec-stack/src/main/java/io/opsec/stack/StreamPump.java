package io.opsec.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.opsec.stack.opsec.Negotiation;
import io.opsec.stack.opsec.NegotiationOutcome;
import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecurityProtocol;
import io.opsec.stack.opsec.SecuritySession;
import io.opsec.stack.opsec.SessionInfo;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpError;
import io.opsec.stack.wire.Ipv4Address;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves one connection's bytes between TCP and the application, through the security session
 * when OPSEC agreed on one: the "opsec/tls -&gt; socket buffers" step of the data path. Owned by the
 * event loop (or the simulator's thread); never blocks.
 *
 * <p>Order of life: TCP handshake (with the negotiation riding on it), then, if secured, the
 * security handshake, then application data. Application writes made before that wait in the
 * outbound {@link ByteStream} (draft §3.4). The status is settled when the outcome is plain, or
 * when the security handshake completes; {@link #onSettled} fires then, once.
 *
 * <p>Closing (reading notes, decision 6): the application's end of output becomes close_notify,
 * then FIN. A FIN or RST from the peer before its close_notify is a truncation: the reader gets an
 * error, not an end of stream. Any security failure resets the connection at once (decision 5).
 */
final class StreamPump {
    private static final Logger log = LoggerFactory.getLogger(StreamPump.class);
    /** Most plaintext waiting in the session before we stop feeding it ciphertext. */
    private static final int SESSION_BACKLOG = 64 * 1024;
    /** Largest chunk moved per step: one full TLS record of plaintext (RFC 5246 §6.2.1). */
    private static final int CHUNK = 16 * 1024;
    /** Largest plain read from TCP per step: a 64 KiB segment in one piece. */
    private static final int PLAIN_CHUNK = 64 * 1024;
    /** Most a TLS 1.2 record adds: header 5, explicit IV 16, MAC 20 (or GCM nonce 8 + tag 16), padding 16. */
    private static final int RECORD_OVERHEAD = 64;

    private final TcpConnection tcp;
    private final Negotiation negotiation;
    private final Map<Integer, SecurityProtocol> protocols;
    private final ByteBufAllocator alloc;
    final ByteStream inbound;
    final ByteStream outbound;
    private SecuritySession session;
    private volatile SecurityStatus status = SecurityStatus.pending("TCP handshake");
    private ByteBuf pendingCipher;
    private ByteBuf pendingPlain;
    private boolean settled;
    private boolean finSent;
    private boolean inputDone;
    private boolean inputShutdown;
    private boolean done;
    private IOException error;
    private Runnable onSettled = () -> { };
    private Runnable onDone = () -> { };
    private final java.util.concurrent.atomic.AtomicBoolean dirty = new java.util.concurrent.atomic.AtomicBoolean();

    StreamPump(TcpConnection tcp, Negotiation negotiation, Map<Integer, SecurityProtocol> protocols,
               ByteBufAllocator alloc, int sendBuffer, int receiveBuffer, Runnable wakeLoop) {
        this.tcp = tcp;
        this.negotiation = negotiation;
        this.protocols = protocols;
        this.alloc = alloc;
        this.inbound = new ByteStream(receiveBuffer, wakeLoop);
        this.outbound = new ByteStream(sendBuffer, wakeLoop);
    }

    /** Marks the pump as needing a step; true when it was not marked yet (the caller queues it). */
    boolean markDirty() {
        return dirty.compareAndSet(false, true);
    }

    void clearDirty() {
        dirty.set(false);
    }

    void onSettled(Runnable r) {
        this.onSettled = r;
    }

    void onDone(Runnable r) {
        this.onDone = r;
    }

    TcpConnection tcp() {
        return tcp;
    }

    SecurityStatus status() {
        return status;
    }

    boolean isSettled() {
        return settled;
    }

    boolean isDone() {
        return done;
    }

    /** The error that ended the connection, or {@code null}. */
    IOException error() {
        return error;
    }

    InetSocketAddress localAddress() {
        return new InetSocketAddress(Ipv4Address.toInet(tcp.localAddress()), tcp.localPort());
    }

    InetSocketAddress remoteAddress() {
        return new InetSocketAddress(Ipv4Address.toInet(tcp.remoteAddress()), tcp.remotePort());
    }

    void shutdownInput() {
        inputShutdown = true;
    }

    // ------------------------------------------------------------------ the step

    /** Moves whatever can move now. Safe to call at any time, as often as wanted. */
    void step(long now) {
        if (done) {
            return;
        }
        try {
            if (!settled) {
                settle(now);
            }
            if (settled || session != null) {
                receive(now);
                send(now);
            }
            finishIfOver();
        } catch (SecurityFailure f) {
            securityFailed(f, now);
        }
    }

    private void settle(long now) throws SecurityFailure {
        TcpError tcpError = tcp.error();
        if (tcpError != null) {
            end(negotiationFailure() != null ? negotiationFailure() : tcpException(tcpError, false));
            return;
        }
        if (!tcp.state().isSynchronized()) {
            return;
        }
        NegotiationOutcome outcome = negotiation.outcome();
        if (outcome instanceof NegotiationOutcome.Pending) {
            return;
        }
        if (outcome instanceof NegotiationOutcome.Failed f) {
            // TCP normally aborts through the extension's verdict already; make sure.
            tcp.abort(now);
            end(new SocketException("OPSEC negotiation failed: " + f.reason()));
            return;
        }
        if (outcome instanceof NegotiationOutcome.Plain p) {
            status = SecurityStatus.plain(p.reason());
            markSettled();
            return;
        }
        NegotiationOutcome.Secured s = (NegotiationOutcome.Secured) outcome;
        if (session == null) {
            SecurityProtocol protocol = protocols.get(s.protocol());
            if (protocol == null) {
                tcp.abort(now);
                end(new SocketException("OPSEC agreed on protocol " + s.protocol() + " which is not installed"));
                return;
            }
            session = protocol.newSession(new SecurityContext(
                    s.clientRole() ? SecurityContext.Role.CLIENT : SecurityContext.Role.SERVER,
                    localAddress(), remoteAddress()));
            status = SecurityStatus.pending(protocol.name() + " handshake");
            session.start();
        }
        // The security handshake runs through receive()/send() below; settled when established.
        receive(now);
        flushCipher(now);
        if (session.isEstablished()) {
            SessionInfo info = session.info();
            String protocolName = info.protocolVersion().startsWith(info.protocol()) ? info.protocolVersion()
                    : info.protocol() + " " + info.protocolVersion();
            status = SecurityStatus.secured(protocolName, info.cipherSuite(),
                    info.sessionId(), info.peerKeyFingerprint().map(java.util.HexFormat.of()::formatHex).orElse(null));
            markSettled();
        }
    }

    private void markSettled() {
        if (!settled) {
            settled = true;
            onSettled.run();
        }
    }

    /** TCP to application, decrypting when secured. */
    private void receive(long now) throws SecurityFailure {
        while (true) {
            if (session != null && pendingPlain == null && session.pendingApplicationInput() > 0) {
                pendingPlain = session.pollApplicationInput(alloc);
            }
            if (pendingPlain != null) {
                if (inputShutdown) {
                    pendingPlain.skipBytes(pendingPlain.readableBytes());
                } else {
                    inbound.offer(pendingPlain);
                }
                if (pendingPlain.isReadable()) {
                    break; // the application has not made room yet
                }
                pendingPlain.release();
                pendingPlain = null;
            }
            int room = session == null ? (inputShutdown ? CHUNK : inbound.space())
                    : SESSION_BACKLOG - session.pendingApplicationInput();
            int n = Math.min(Math.min(room, session == null ? PLAIN_CHUNK : CHUNK), tcp.readableBytes());
            if (n <= 0) {
                if (room <= 0 && session == null && tcp.readableBytes() > 0) {
                    inbound.awaitRoom(); // the application's next read wakes the loop
                }
                break;
            }
            ByteBuf data = tcp.read(n, now);
            if (data == null) {
                break;
            }
            try {
                if (session != null) {
                    session.receiveFromNetwork(data);
                } else if (!inputShutdown) {
                    inbound.offer(data);
                }
            } finally {
                data.release();
            }
            if (session != null) {
                flushCipher(now); // handshake answers
            }
        }
        if (!inputDone && tcp.readableBytes() == 0 && pendingPlain == null && tcp.isInputEnded()
                && tcp.error() == null) { // a reset is not an end of stream: finishIfOver reports it
            if (session != null && !session.isInboundClosed()) {
                session.networkEnded(false); // throws: truncation
            }
            if (session == null || session.pendingApplicationInput() == 0) {
                inputDone = true;
                inbound.finish();
            }
        }
        if (!inputDone && session != null && session.isInboundClosed() && session.pendingApplicationInput() == 0
                && pendingPlain == null) {
            inputDone = true;
            inbound.finish();
        }
    }

    /** Application to TCP, encrypting when secured. */
    private void send(long now) throws SecurityFailure {
        flushCipher(now);
        boolean dataMayMove = session == null ? settled : session.isEstablished();
        if (!dataMayMove) {
            return;
        }
        while (pendingCipher == null && !finSent) {
            int room = tcp.writableBytes();
            if (session != null) {
                room -= RECORD_OVERHEAD;
                // Wait for room for a whole record while ACKs are still to come (each one frees
                // room and steps us again): a record cut to the room left costs its MAC, IV and
                // header all the same, and TCP's window is rarely full for long.
                if (room < Math.min(outbound.queued(), CHUNK) && tcp.unacknowledgedBytes() > 0) {
                    break;
                }
            }
            if (room <= 0) {
                break;
            }
            // The queued bytes go straight from the stream's buffer into TCP's send queue (or
            // the session's scratch array): no intermediate copy, no allocation per chunk.
            int moved;
            if (session != null) {
                moved = outbound.drainTo(Math.min(room, CHUNK), session::sendFromApplication);
                flushCipher(now);
            } else {
                moved = outbound.drainTo(room, data -> tcp.send(data, now)); // TCP takes what fits
            }
            if (moved == 0) {
                break;
            }
        }
        if (!finSent && pendingCipher == null && outbound.isDrainedAndFinished()) {
            if (session != null && !session.isOutboundClosed()) {
                session.closeOutbound(); // close_notify before FIN (decision 6)
                flushCipher(now);
            }
            if (pendingCipher == null) {
                finSent = true;
                tcp.shutdownOutput(now);
            }
        }
    }

    private void flushCipher(long now) {
        while (true) {
            if (pendingCipher == null && session != null && session.pendingNetworkOutput() > 0) {
                pendingCipher = session.pollNetworkOutput(alloc);
            }
            if (pendingCipher == null) {
                return;
            }
            int sent = tcp.send(pendingCipher, now);
            if (sent < 0) {
                // TCP can no longer send (reset or closed): what is left can never go.
                pendingCipher.release();
                pendingCipher = null;
                return;
            }
            if (pendingCipher.isReadable()) {
                return; // TCP's send buffer is full; try again on the next step
            }
            pendingCipher.release();
            pendingCipher = null;
        }
    }

    private void finishIfOver() {
        TcpError e = tcp.error();
        if (e != null) {
            IOException ex = negotiationFailure() != null ? negotiationFailure() : tcpException(e, settled);
            if (session != null && !session.isFailed() && !session.isInboundClosed()) {
                try {
                    session.networkEnded(e == TcpError.RESET);
                } catch (SecurityFailure f) {
                    ex = new SocketException(ex.getMessage() + " (" + f.getMessage() + ")");
                }
            }
            end(ex);
            return;
        }
        if (tcp.isClosed()) {
            end(null);
        }
    }

    /** The negotiation's own failure (it made TCP abort), or {@code null}. */
    private IOException negotiationFailure() {
        if (negotiation.outcome() instanceof NegotiationOutcome.Failed f) {
            return new SocketException("OPSEC negotiation failed: " + f.reason());
        }
        return null;
    }

    private void securityFailed(SecurityFailure f, long now) {
        log.debug("security failure on {}: {}", tcp, f.getMessage());
        // Send our alert if we raised one, then reset at once (draft §3.4, decision 5).
        flushCipher(now);
        tcp.abort(now);
        end(new SocketException("OPSEC security failure: " + f.getMessage()));
    }

    private static IOException tcpException(TcpError e, boolean established) {
        return switch (e) {
            case REFUSED -> new ConnectException("Connection refused");
            case RESET -> new SocketException("Connection reset");
            case TIMEOUT -> established ? new SocketTimeoutException("Connection timed out")
                    : new java.net.ConnectException("Connection timed out");
            default -> new SocketException("Connection " + e.description());
        };
    }

    private void end(IOException e) {
        if (done) {
            return;
        }
        done = true;
        error = e;
        if (e != null) {
            inbound.fail(e);
            outbound.fail(e);
            if (!settled) {
                status = SecurityStatus.pending("failed: " + e.getMessage());
            }
        } else {
            inbound.finish();
        }
        release();
        markSettled();
        onDone.run();
    }

    /** Application closed the socket: finish output gracefully, or reset. */
    void close(boolean reset, long now) {
        outbound.finish();
        inbound.close();
        if (reset || done) {
            if (!done) {
                tcp.abort(now);
                end(new SocketException("Socket closed"));
            }
            outbound.close();
            return;
        }
        inputShutdown = true;
        step(now);
    }

    void shutdownOutput(long now) {
        outbound.finish();
        step(now);
    }

    private void release() {
        if (pendingCipher != null) {
            pendingCipher.release();
            pendingCipher = null;
        }
        if (pendingPlain != null) {
            pendingPlain.release();
            pendingPlain = null;
        }
    }

    @Override
    public String toString() {
        return "StreamPump[" + tcp + ", " + status + "]";
    }
}
