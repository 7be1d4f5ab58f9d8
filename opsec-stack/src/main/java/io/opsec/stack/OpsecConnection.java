package io.opsec.stack;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * A connection used without blocking: the face the simulator (and any event-driven caller) uses
 * where an application would use an {@link OpsecSocket}. Every method returns at once.
 *
 * <p>Writes made before the connection is {@linkplain #isSettled() settled} wait in the stack
 * (with OPSEC, no application byte moves before the security handshake completes).
 */
public final class OpsecConnection {
    private final Backend.Conn conn;
    private final StreamPump pump;

    OpsecConnection(Backend.Conn conn, StreamPump pump) {
        this.conn = conn;
        this.pump = pump;
    }

    /** Whether the security outcome is known (secured with its handshake done, plain, or failed). */
    public boolean isSettled() {
        return pump.isSettled();
    }

    /** The connection's security status. */
    public SecurityStatus security() {
        return pump.status();
    }

    /**
     * Queues as many of {@code data}'s readable bytes as the send buffer takes.
     *
     * @param data borrowed; its reader index advances past what was queued
     * @return bytes queued, 0 when the buffer is full
     * @throws IOException when the connection failed or output was shut down
     */
    public int write(ByteBuf data) throws IOException {
        return pump.outbound.writeNow(data);
    }

    /**
     * Takes up to {@code max} received bytes.
     *
     * @return a buffer the <b>caller owns</b>, or {@code null} when nothing is there now
     * @throws IOException when the connection failed (after everything received before was read)
     */
    public ByteBuf read(int max) throws IOException {
        return pump.inbound.readNow(max);
    }

    /** The peer ended its output and everything it sent has been read. */
    public boolean isInputEnded() {
        return pump.inbound.isDrainedAndFinished();
    }

    /** The connection is over (closed in order, reset, or failed). */
    public boolean isDone() {
        return pump.isDone();
    }

    /** Why the connection ended badly, or {@code null}. */
    public IOException error() {
        return pump.error();
    }

    /** Sends what was written, then ends output (TLS close_notify, then FIN). */
    public void shutdownOutput() {
        conn.shutdownOutput();
    }

    /** Graceful close. */
    public void close() {
        conn.close(false);
    }

    /** Abortive close: RST. */
    public void abort() {
        conn.close(true);
    }

    public InetSocketAddress localAddress() {
        return conn.localAddress();
    }

    public InetSocketAddress remoteAddress() {
        return conn.remoteAddress();
    }

    /** TCP-level facts for tracing (state, sequence numbers, RTT, congestion window). */
    public String tcpInfo() {
        return pump.tcp().info().toString();
    }

    @Override
    public String toString() {
        return "OpsecConnection[" + localAddress() + " > " + remoteAddress() + ", " + security() + "]";
    }
}
