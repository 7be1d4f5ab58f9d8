package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.Flushable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a classic pcap file (libpcap 2.4) of raw IPv4 packets: link type
 * {@link #LINKTYPE_RAW} (101), which tshark and Wireshark decode as IP. Big-endian, with the
 * nanosecond magic {@code 0xa1b23c4d} by default or the microsecond {@code 0xa1b2c3d4}.
 *
 * <p>Thread-safe: several {@link PcapTap}s may share one writer (each record is written whole).
 * Output is buffered; {@link #flush()} pushes it out, {@link #close()} flushes and closes the
 * stream.
 */
public final class PcapWriter implements Closeable, Flushable {

    /** LINKTYPE_RAW: each record is a bare IPv4 (or IPv6) packet. */
    public static final int LINKTYPE_RAW = 101;
    /** The magic of a file with microsecond timestamps. */
    public static final int MAGIC_MICROS = 0xA1B2C3D4;
    /** The magic of a file with nanosecond timestamps. */
    public static final int MAGIC_NANOS = 0xA1B23C4D;
    /** The default snapshot length: whole packets. */
    public static final int DEFAULT_SNAPLEN = 65535;

    /** Timestamp resolution of the file. */
    public enum Resolution { MICROS, NANOS }

    private static final int FILE_HEADER_LENGTH = 24;
    private static final int RECORD_HEADER_LENGTH = 16;

    private final OutputStream out;
    private final Resolution resolution;
    private final int snaplen;
    private final byte[] header = new byte[RECORD_HEADER_LENGTH];
    private long records;
    private boolean closed;

    /**
     * Starts a capture on {@code out}, writing the file header at once. The writer owns the
     * stream from then on and closes it on {@link #close()}.
     */
    public PcapWriter(OutputStream out, Resolution resolution, int snaplen) throws IOException {
        if (snaplen < 1) {
            throw new IllegalArgumentException("snaplen " + snaplen);
        }
        this.out = out instanceof BufferedOutputStream ? out : new BufferedOutputStream(out, 64 * 1024);
        this.resolution = resolution;
        this.snaplen = snaplen;
        byte[] fh = new byte[FILE_HEADER_LENGTH];
        putInt(fh, 0, resolution == Resolution.NANOS ? MAGIC_NANOS : MAGIC_MICROS);
        putShort(fh, 4, 2);  // version 2.4
        putShort(fh, 6, 4);
        putInt(fh, 8, 0);    // thiszone: timestamps are UTC
        putInt(fh, 12, 0);   // sigfigs
        putInt(fh, 16, snaplen);
        putInt(fh, 20, LINKTYPE_RAW);
        this.out.write(fh);
    }

    /** A nanosecond capture of whole packets into {@code file} (created or truncated). */
    public static PcapWriter open(Path file) throws IOException {
        return new PcapWriter(Files.newOutputStream(file), Resolution.NANOS, DEFAULT_SNAPLEN);
    }

    /**
     * Appends one record.
     *
     * @param packet     the packet, from its reader index to its writer index; <b>borrowed</b>:
     *                   neither released nor are its indexes changed
     * @param epochNanos the capture time in nanoseconds since 1970-01-01 UTC; negative times are
     *                   written as 0
     */
    public synchronized void write(ByteBuf packet, long epochNanos) throws IOException {
        if (closed) {
            throw new IOException("pcap writer is closed");
        }
        long t = Math.max(0, epochNanos);
        long seconds = t / 1_000_000_000L;
        long fraction = t % 1_000_000_000L;
        if (resolution == Resolution.MICROS) {
            fraction /= 1000;
        }
        int length = packet.readableBytes();
        int captured = Math.min(length, snaplen);
        putInt(header, 0, (int) seconds);
        putInt(header, 4, (int) fraction);
        putInt(header, 8, captured);
        putInt(header, 12, length);
        out.write(header);
        packet.getBytes(packet.readerIndex(), out, captured);
        records++;
    }

    /** Records written so far. */
    public synchronized long records() {
        return records;
    }

    @Override
    public synchronized void flush() throws IOException {
        if (!closed) {
            out.flush();
        }
    }

    /** Flushes and closes the stream. Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (!closed) {
            closed = true;
            out.close();
        }
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static void putShort(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 8);
        b[at + 1] = (byte) v;
    }
}
