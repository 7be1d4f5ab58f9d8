package io.opsec.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded byte queue between an application thread and the stack's event loop: the one place
 * where the two meet for data. Application threads block in {@link #read} and {@link #write};
 * the event loop never blocks ({@link #offer}, {@link #take}).
 *
 * <p>One of these carries each direction of a socket: inbound (loop offers what the connection
 * delivered, the application reads) and outbound (the application writes, the loop takes what the
 * connection can send). Ends of stream: {@link #finish()} marks a clean end after the queued
 * bytes; {@link #fail(IOException)} makes every later call throw; {@link #close()} is the local
 * socket's close and wakes every blocked thread.
 *
 * <p>Thread-safe. Memory is bounded by the capacity, and an empty stream holds no buffer at all:
 * the buffer is allocated when bytes arrive and dropped when they have all been taken, so an idle
 * connection costs its two streams a few dozen bytes each (see docs/performance.md).
 *
 * <p>Wake-ups: the application side runs {@code onChange} after every write (the loop has bytes
 * to send), but after a read only when the loop asked for room ({@link #awaitRoom()}, or an
 * {@link #offer} that did not fit), so a reader does not wake the loop for nothing.
 */
final class ByteStream {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    /**
     * Smallest buffer allocated when bytes arrive in an empty stream: small enough that a
     * request/response exchange does not zero kilobytes per message, while bulk offers are
     * larger than this anyway.
     */
    static final int MIN_ALLOCATION = 2 * 1024;
    /** Queued bytes, or {@code null} when nothing is queued. */
    private ByteBuf buf;
    private final int capacity;
    private final Runnable onChange;
    private boolean wantsRoom;
    private boolean finished;
    private boolean closed;
    private IOException failure;

    /**
     * @param capacity most bytes queued at once
     * @param onChange run (outside the lock) when the application side wrote or read, so the
     *                 event loop can move data; must not block
     */
    ByteStream(int capacity, Runnable onChange) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity " + capacity);
        }
        this.capacity = capacity;
        this.onChange = onChange;
    }

    // ------------------------------------------------------------------ application side

    /**
     * Reads up to {@code len} bytes, blocking until at least one is there, the stream ends, fails
     * or closes, or {@code timeoutMillis} pass (0 waits forever).
     *
     * @return the number of bytes read, or -1 at a clean end of stream
     * @throws SocketTimeoutException after the timeout; the stream still works afterwards
     */
    int read(byte[] b, int off, int len, int timeoutMillis) throws IOException {
        if (len == 0) {
            return 0;
        }
        int n;
        boolean wake;
        lock.lock();
        try {
            long deadline = timeoutMillis > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis) : 0;
            while (true) {
                if (closed) {
                    throw new SocketException("Socket closed");
                }
                if (buf != null) {
                    break; // queued data is delivered before a failure, as Linux does
                }
                throwIfClosedOrFailed();
                if (finished) {
                    return -1;
                }
                awaitOrTimeout(readable, deadline, "Read timed out");
            }
            n = Math.min(len, buf.readableBytes());
            buf.readBytes(b, off, n);
            dropIfEmpty();
            wake = roomMade();
        } finally {
            lock.unlock();
        }
        if (wake) {
            onChange.run();
        }
        return n;
    }

    /**
     * Writes all {@code len} bytes, blocking while the queue is full.
     *
     * @throws SocketException when the stream was closed, finished or failed
     */
    void write(byte[] b, int off, int len, int timeoutMillis) throws IOException {
        int done = 0;
        while (done < len) {
            lock.lock();
            int n;
            try {
                long deadline = timeoutMillis > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis) : 0;
                while (true) {
                    throwIfClosedOrFailed();
                    if (finished) {
                        throw new SocketException("Socket output is shutdown");
                    }
                    if (queuedLocked() < capacity) {
                        break;
                    }
                    awaitOrTimeout(writable, deadline, "Write timed out");
                }
                n = Math.min(len - done, capacity - queuedLocked());
                room(n).writeBytes(b, off + done, n);
                readable.signalAll();
            } finally {
                lock.unlock();
            }
            done += n;
            onChange.run();
        }
    }

    /** Bytes that can be read now without blocking. */
    int available() {
        lock.lock();
        try {
            return closed ? 0 : queuedLocked();
        } finally {
            lock.unlock();
        }
    }

    private int queuedLocked() {
        return buf == null ? 0 : buf.readableBytes();
    }

    /** The buffer, allocated or compacted so that {@code n} more bytes fit. Lock held. */
    private ByteBuf room(int n) {
        if (buf == null) {
            buf = Unpooled.buffer(Math.min(capacity, Math.max(n, MIN_ALLOCATION)), capacity);
        } else if (buf.maxWritableBytes() < n || buf.readerIndex() > capacity / 2) {
            buf.discardReadBytes();
        }
        return buf;
    }

    /** Frees the buffer once everything in it has been taken. Lock held. */
    private void dropIfEmpty() {
        if (buf != null && !buf.isReadable()) {
            buf.release();
            buf = null;
        }
    }

    /** After the application took bytes: wakes writers; true when the loop asked for room. Lock held. */
    private boolean roomMade() {
        writable.signalAll();
        boolean wake = wantsRoom;
        wantsRoom = false;
        return wake;
    }

    private void awaitOrTimeout(Condition c, long deadline, String what) throws IOException {
        try {
            if (deadline == 0) {
                c.await();
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SocketTimeoutException(what);
                }
                c.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    private void throwIfClosedOrFailed() throws IOException {
        if (closed) {
            throw new SocketException("Socket closed");
        }
        if (failure != null) {
            IOException copy = failure instanceof SocketTimeoutException
                    ? new SocketTimeoutException(failure.getMessage()) : new SocketException(failure.getMessage());
            copy.initCause(failure);
            throw copy;
        }
    }

    /**
     * Application side, without blocking: queues as much of {@code data} as fits.
     *
     * @param data borrowed; its reader index advances past what was queued
     * @return bytes queued (0 when full)
     * @throws IOException when the stream is closed, finished or failed
     */
    int writeNow(ByteBuf data) throws IOException {
        lock.lock();
        int n;
        try {
            throwIfClosedOrFailed();
            if (finished) {
                throw new SocketException("Socket output is shutdown");
            }
            n = Math.min(data.readableBytes(), capacity - queuedLocked());
            if (n > 0) {
                room(n).writeBytes(data, n);
            }
        } finally {
            lock.unlock();
        }
        if (n > 0) {
            onChange.run();
        }
        return n;
    }

    /**
     * Application side, without blocking: takes up to {@code max} bytes.
     *
     * @return a buffer the caller owns, or {@code null} when nothing is queued (see
     *         {@link #isDrainedAndFinished()} for the end of the stream)
     * @throws IOException when the stream failed and nothing is left to read
     */
    ByteBuf readNow(int max) throws IOException {
        ByteBuf out;
        boolean wake;
        lock.lock();
        try {
            if (closed) {
                throw new SocketException("Socket closed");
            }
            if (buf == null) {
                throwIfClosedOrFailed();
                return null;
            }
            int n = Math.min(max, buf.readableBytes());
            out = Unpooled.buffer(n);
            buf.readBytes(out, n);
            dropIfEmpty();
            wake = roomMade();
        } finally {
            lock.unlock();
        }
        if (wake) {
            onChange.run();
        }
        return out;
    }

    // ------------------------------------------------------------------ event-loop side

    /**
     * Queues as many of {@code data}'s readable bytes as fit; never blocks.
     *
     * @param data borrowed; its reader index advances past what was queued
     * @return bytes queued
     */
    int offer(ByteBuf data) {
        lock.lock();
        try {
            if (closed || failure != null) {
                return 0;
            }
            int offered = data.readableBytes();
            int n = Math.min(offered, capacity - queuedLocked());
            if (n > 0) {
                room(n).writeBytes(data, n);
                readable.signalAll();
            }
            if (n < offered) {
                wantsRoom = true; // the rest waits for the application to read
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** The loop could not move everything for lack of room: the next application read wakes it. */
    void awaitRoom() {
        lock.lock();
        try {
            wantsRoom = true;
        } finally {
            lock.unlock();
        }
    }

    /** What {@link #drainTo} hands queued bytes to. */
    interface Sink {
        /**
         * @param data borrowed, valid only during the call; the sink advances its reader index
         *             past the bytes it consumed (and must not retain or release it)
         */
        void accept(ByteBuf data) throws io.opsec.stack.opsec.SecurityFailure;
    }

    /**
     * Hands up to {@code max} queued bytes to {@code sink} without copying them out first, and
     * removes what it consumed; never blocks. The sink runs under the stream's lock, so it must
     * be quick and must not call back into this stream.
     *
     * @return bytes consumed (0 when nothing is queued)
     */
    int drainTo(int max, Sink sink) throws io.opsec.stack.opsec.SecurityFailure {
        lock.lock();
        try {
            int n = closed ? 0 : Math.min(max, queuedLocked());
            if (n <= 0) {
                return 0;
            }
            ByteBuf view = buf.slice(buf.readerIndex(), n);
            try {
                sink.accept(view);
            } finally {
                int used = view.readerIndex();
                if (used > 0) {
                    buf.skipBytes(used);
                    dropIfEmpty();
                    writable.signalAll();
                }
                n = used;
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Bytes of buffer held now (0 when empty), for tests of the memory an idle stream costs. */
    int bufferCapacity() {
        lock.lock();
        try {
            return buf == null ? 0 : buf.capacity();
        } finally {
            lock.unlock();
        }
    }

    /** Free room, in bytes. */
    int space() {
        lock.lock();
        try {
            return closed ? 0 : capacity - queuedLocked();
        } finally {
            lock.unlock();
        }
    }

    /** Bytes queued. */
    int queued() {
        return available();
    }

    /** A clean end of stream after the queued bytes (FIN, or the application's shutdownOutput). */
    void finish() {
        lock.lock();
        try {
            finished = true;
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Finished and drained: nothing more will ever come out of it. */
    boolean isDrainedAndFinished() {
        lock.lock();
        try {
            return finished && (closed || buf == null);
        } finally {
            lock.unlock();
        }
    }

    /** Every later call throws {@code error}'s message (a reset, a timeout, a TLS alert). */
    void fail(IOException error) {
        lock.lock();
        try {
            if (failure == null) {
                failure = error;
            }
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Closes the stream: wakes blocked threads (they get "Socket closed") and frees the memory. */
    void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (buf != null) {
                buf.release();
                buf = null;
            }
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }
}
