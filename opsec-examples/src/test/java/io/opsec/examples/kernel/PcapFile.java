package io.opsec.examples.kernel;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A classic pcap writer (the libpcap format, magic {@code 0xa1b2c3d4}, microsecond timestamps)
 * with link type {@code LINKTYPE_RAW} (101): each record is one whole IPv4 packet.
 *
 * <p>Written here, not taken from the stack's {@code PcapTap}, so the harness can capture the
 * tunnel before the stack's own link layer exists and so a bug in one cannot hide in the other.
 * Thread-safe: records from both directions of a relay interleave whole.
 */
final class PcapFile implements AutoCloseable {
    /** LINKTYPE_RAW: the packet begins with an IPv4 or IPv6 header. */
    static final int LINKTYPE_RAW = 101;

    private final OutputStream out;
    private final ByteBuffer recordHeader = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    private boolean closed;

    PcapFile(Path path) {
        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
            ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535)
                    .putInt(LINKTYPE_RAW);
            out.write(h.array());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + path, e);
        }
    }

    /** Appends one packet stamped with the wall clock. */
    void write(byte[] packet, int offset, int length) {
        long micros = System.currentTimeMillis() * 1000 + (System.nanoTime() / 1000) % 1000;
        write(micros, packet, offset, length);
    }

    /** Appends one packet with an explicit timestamp in microseconds since the epoch. */
    synchronized void write(long epochMicros, byte[] packet, int offset, int length) {
        if (closed) {
            return;
        }
        recordHeader.clear();
        recordHeader.putInt((int) (epochMicros / 1_000_000)).putInt((int) (epochMicros % 1_000_000))
                .putInt(length).putInt(length);
        try {
            out.write(recordHeader.array());
            out.write(packet, offset, length);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
