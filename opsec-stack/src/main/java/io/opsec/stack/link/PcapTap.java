package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Link} decorator that captures every packet the stack sends and receives through it
 * into a pcap file ({@link PcapWriter}: raw IPv4, nanosecond timestamps), then passes it on
 * unchanged.
 *
 * <pre>{@code
 * // simulator: virtual time starts at 0, so the capture starts at 1970-01-01T00:00:00Z
 * Link a = PcapTap.builder(wire.a()).file(Path.of("run-42.pcap")).build();
 * // runtime: map System.nanoTime() onto the wall clock, read once by the runtime
 * long offset = epochNanosNow - System.nanoTime();
 * Link l = PcapTap.builder(udpLink).file(path).epochOffsetNanos(offset).build();
 * }</pre>
 *
 * <p><b>Timestamps</b> come from the {@code now} arguments, never from a clock: a record's time
 * is {@code now + epochOffsetNanos}. A packet is stamped when {@link #transmit} is called and
 * when {@link #receive} hands it to the stack. On virtual time with offset 0 the same run writes
 * the same bytes.
 *
 * <p><b>Failures.</b> Capture must never break the stack: if a write fails, the tap logs it
 * once, stops capturing, keeps forwarding packets and reports the error through
 * {@link #failure()}.
 *
 * <p><b>Closing</b> the tap closes the inner link, then flushes and closes the writer if the tap
 * owns it (one it opened for a file or stream), or only flushes a shared writer.
 */
public final class PcapTap extends ForwardingLink {

    private static final Logger LOG = LoggerFactory.getLogger(PcapTap.class);

    private final PcapWriter writer;
    private final boolean ownsWriter;
    private final long epochOffsetNanos;
    private final boolean flushEachPacket;
    private volatile IOException failure;

    private PcapTap(Link inner, PcapWriter writer, boolean ownsWriter, long epochOffsetNanos, boolean flushEachPacket) {
        super(inner);
        this.writer = writer;
        this.ownsWriter = ownsWriter;
        this.epochOffsetNanos = epochOffsetNanos;
        this.flushEachPacket = flushEachPacket;
    }

    /** A tap on {@code inner} writing to {@code file}, with no time offset (virtual time). */
    public static PcapTap toFile(Link inner, Path file) throws IOException {
        return builder(inner).file(file).build();
    }

    /** Starts building a tap on {@code inner}. */
    public static Builder builder(Link inner) {
        return new Builder(inner);
    }

    /** Builds a {@link PcapTap}: exactly one of {@link #file}, {@link #stream}, {@link #writer}. */
    public static final class Builder {
        private final Link inner;
        private Path file;
        private OutputStream stream;
        private PcapWriter writer;
        private long epochOffsetNanos;
        private boolean flushEachPacket;
        private PcapWriter.Resolution resolution = PcapWriter.Resolution.NANOS;
        private int snaplen = PcapWriter.DEFAULT_SNAPLEN;

        private Builder(Link inner) {
            this.inner = Objects.requireNonNull(inner);
        }

        /** Capture into this file, created or truncated; the tap owns it. */
        public Builder file(Path file) {
            this.file = file;
            return this;
        }

        /** Capture into this stream; the tap owns it and closes it on close. */
        public Builder stream(OutputStream stream) {
            this.stream = stream;
            return this;
        }

        /** Capture into a writer shared with other taps; the tap only flushes it on close. */
        public Builder writer(PcapWriter writer) {
            this.writer = writer;
            return this;
        }

        /** Added to every {@code now} to get nanoseconds since the Unix epoch (default 0). */
        public Builder epochOffsetNanos(long offset) {
            this.epochOffsetNanos = offset;
            return this;
        }

        /** Flush after every packet, so a crash loses nothing (default: buffered). */
        public Builder flushEachPacket(boolean flush) {
            this.flushEachPacket = flush;
            return this;
        }

        /** Timestamp resolution of a file or stream the tap opens (default nanoseconds). */
        public Builder resolution(PcapWriter.Resolution resolution) {
            this.resolution = Objects.requireNonNull(resolution);
            return this;
        }

        /** Bytes kept of each packet in a file or stream the tap opens (default 65535). */
        public Builder snaplen(int snaplen) {
            this.snaplen = snaplen;
            return this;
        }

        public PcapTap build() throws IOException {
            int targets = (file != null ? 1 : 0) + (stream != null ? 1 : 0) + (writer != null ? 1 : 0);
            if (targets != 1) {
                throw new IllegalStateException("a pcap tap needs exactly one of file, stream or writer");
            }
            if (writer != null) {
                return new PcapTap(inner, writer, false, epochOffsetNanos, flushEachPacket);
            }
            OutputStream out = stream != null ? stream : java.nio.file.Files.newOutputStream(file);
            return new PcapTap(inner, new PcapWriter(out, resolution, snaplen), true, epochOffsetNanos, flushEachPacket);
        }
    }

    /** {@inheritDoc} The packet is captured (borrowed) before ownership passes to the inner link. */
    @Override
    public void transmit(ByteBuf packet, long nowNanos) {
        capture(packet, nowNanos);
        inner.transmit(packet, nowNanos);
    }

    /** {@inheritDoc} A received packet is captured (borrowed) as it is handed to the caller. */
    @Override
    public ByteBuf receive(long nowNanos) {
        ByteBuf packet = inner.receive(nowNanos);
        if (packet != null) {
            capture(packet, nowNanos);
        }
        return packet;
    }

    /** Pushes buffered records to the file or stream. */
    public void flush() {
        if (failure == null) {
            try {
                writer.flush();
            } catch (IOException e) {
                fail(e);
            }
        }
    }

    /** The write error that stopped the capture, or {@code null} while it is healthy. */
    public IOException failure() {
        return failure;
    }

    /** The writer (shared or owned), for its record count. */
    public PcapWriter writer() {
        return writer;
    }

    @Override
    public void close() {
        try {
            inner.close();
        } finally {
            try {
                if (ownsWriter) {
                    writer.close();
                } else {
                    writer.flush();
                }
            } catch (IOException e) {
                fail(e);
            }
        }
    }

    private void capture(ByteBuf packet, long nowNanos) {
        if (failure != null) {
            return;
        }
        try {
            writer.write(packet, nowNanos + epochOffsetNanos);
            if (flushEachPacket) {
                writer.flush();
            }
        } catch (IOException e) {
            fail(e);
        }
    }

    private void fail(IOException e) {
        if (failure == null) {
            failure = e;
            LOG.warn("pcap capture stopped: {}", e.toString());
        }
    }

    @Override
    public String toString() {
        return "PcapTap(" + inner + ")";
    }
}
