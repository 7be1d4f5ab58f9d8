package io.opsec.examples;

import io.netty.buffer.ByteBuf;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A minimal classic-pcap writer (microsecond timestamps, LINKTYPE_RAW: each record is a bare IPv4
 * packet), for the demo's capture. Thread-safe.
 */
final class PcapWriter implements AutoCloseable {
    private static final int LINKTYPE_RAW = 101;
    private final OutputStream out;
    private final long epochMicros = System.currentTimeMillis() * 1000;

    private PcapWriter(OutputStream out) throws IOException {
        this.out = out;
        ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(LINKTYPE_RAW);
        out.write(h.array());
    }

    static PcapWriter open(Path file) throws IOException {
        return new PcapWriter(new BufferedOutputStream(Files.newOutputStream(file)));
    }

    /**
     * Appends one packet.
     *
     * @param packet borrowed; its indexes are not changed
     * @param sinceStartNanos time since the capture began
     */
    synchronized void write(ByteBuf packet, long sinceStartNanos) {
        long t = epochMicros + sinceStartNanos / 1000;
        int len = packet.readableBytes();
        ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt((int) (t / 1_000_000)).putInt((int) (t % 1_000_000)).putInt(len).putInt(len);
        try {
            out.write(h.array());
            byte[] b = new byte[len];
            packet.getBytes(packet.readerIndex(), b);
            out.write(b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
