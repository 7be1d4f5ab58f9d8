package io.opsec.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;

/**
 * A small blocking adapter for interop tests: moves bytes between a kernel TCP socket's streams
 * and a non-blocking {@link SecuritySession}, on the test thread, with a short read timeout so
 * it can alternate between the two directions. Not part of the stack: the stack's own sockets
 * do this on their event loop.
 */
final class SocketDriver implements AutoCloseable {

    private final Socket socket;
    private final SecuritySession session;
    private final InputStream in;
    private final OutputStream out;
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private final byte[] buf = new byte[16384];
    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    /** The TLS content type of every record we sent, in order (RFC 5246 §6.2.1). */
    final java.util.List<Integer> sentRecordTypes = new java.util.ArrayList<>();
    boolean eof;

    SocketDriver(Socket socket, SecuritySession session) throws IOException {
        this.socket = socket;
        this.session = session;
        socket.setSoTimeout(20);
        socket.setTcpNoDelay(true);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Sends whatever the session has for the network. */
    void flush() throws IOException {
        ByteBuf b;
        while ((b = session.pollNetworkOutput(alloc)) != null) {
            try {
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                // The session hands out whole records; note their types for tests.
                for (int i = 0; i + 5 <= bytes.length; i += 5 + (((bytes[i + 3] & 0xff) << 8) | (bytes[i + 4] & 0xff))) {
                    sentRecordTypes.add(bytes[i] & 0xff);
                }
                out.write(bytes);
            } finally {
                b.release();
            }
        }
        out.flush();
    }

    /** Sends application bytes through the session. */
    void send(byte[] data) throws IOException, SecurityFailure {
        ByteBuf b = alloc.buffer(data.length).writeBytes(data);
        try {
            session.sendFromApplication(b);
        } finally {
            b.release();
        }
        flush();
    }

    /** One round: flush, read what arrived within the socket timeout, feed it, collect plaintext. */
    void step() throws IOException, SecurityFailure {
        flush();
        if (eof) {
            return;
        }
        int n;
        try {
            n = in.read(buf);
        } catch (SocketTimeoutException e) {
            return;
        }
        if (n < 0) {
            eof = true;
            session.networkEnded(false); // throws on truncation
            return;
        }
        ByteBuf b = alloc.buffer(n).writeBytes(buf, 0, n);
        try {
            session.receiveFromNetwork(b);
        } finally {
            b.release();
            drain();
            flush();
        }
    }

    private void drain() {
        ByteBuf b;
        while ((b = session.pollApplicationInput(alloc)) != null) {
            try {
                byte[] bytes = new byte[b.readableBytes()];
                b.readBytes(bytes);
                received.writeBytes(bytes);
            } finally {
                b.release();
            }
        }
    }

    /** Steps until {@code done} holds; false on timeout (failures are thrown). */
    boolean until(BooleanSupplier done, Duration timeout) throws IOException, SecurityFailure {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            step();
            if (eof && !done.getAsBoolean()) {
                return false;
            }
        }
        return true;
    }

    /** Sends our close_notify, then TCP FIN (READING-NOTES decision 6: close_notify before FIN). */
    void closeOutput() throws IOException, SecurityFailure {
        session.closeOutbound();
        flush();
        socket.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
