package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * The value of a TCP header (RFC 9293 §3.1) with its parsed options.
 *
 * @param sourcePort      source port
 * @param destinationPort destination port
 * @param seq             sequence number (raw 32 bits; compare through {@link SeqNum})
 * @param ack             acknowledgment number (raw 32 bits)
 * @param reserved        the four reserved bits, kept so odd segments re-emit unchanged
 * @param flags           control bits, see {@link TcpFlags}
 * @param window          the 16-bit window field, unscaled
 * @param checksum        the checksum as received; recomputed on emit
 * @param urgentPointer   the urgent pointer
 * @param options         the options in order
 */
public record TcpHeader(int sourcePort, int destinationPort, int seq, int ack, int reserved, int flags,
                        int window, int checksum, int urgentPointer, List<TcpOption> options) {

    /** The longest segment an IPv4 packet can carry: 65535 less a 20-byte IPv4 header. */
    public static final int MAX_SEGMENT_LENGTH = 0xFFFF - Ipv4Packet.MIN_HEADER_LENGTH;

    public TcpHeader {
        options = List.copyOf(options);
        check16("source port", sourcePort);
        check16("destination port", destinationPort);
        check16("window", window);
        check16("urgent pointer", urgentPointer);
        check16("checksum", checksum);
        if (flags < 0 || flags > 0xFF) throw new IllegalArgumentException("flags " + flags + " out of 0..255");
        if (reserved < 0 || reserved > 0x0F) throw new IllegalArgumentException("reserved " + reserved + " out of 0..15");
    }

    private static void check16(String what, int v) {
        if (v < 0 || v > 0xFFFF) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..65535");
        }
    }

    /** A header with no reserved bits, no urgent pointer and a checksum to be computed. */
    public static TcpHeader of(int sourcePort, int destinationPort, int seq, int ack, int flags, int window,
                               List<TcpOption> options) {
        return new TcpHeader(sourcePort, destinationPort, seq, ack, 0, flags, window, 0, 0, options);
    }

    /** Parses the header of a checked view. */
    public static ParseResult<TcpHeader> parse(TcpPacket p, TcpOptions.Codec codec) {
        ParseResult<List<TcpOption>> opts = TcpOptions.parse(p.buffer(), p.optionsIndex(), p.optionsLength(), codec);
        if (opts instanceof ParseResult.Err<List<TcpOption>> err) {
            return err.cast();
        }
        return ParseResult.ok(new TcpHeader(p.sourcePort(), p.destinationPort(), p.seq(), p.ack(), p.reserved(),
                p.flags(), p.window(), p.checksum(), p.urgentPointer(), opts.value()));
    }

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    /**
     * The length this header has when emitted: 20 bytes plus the options padded to a 32-bit
     * boundary. A parsed header keeps no data offset of its own, so when the sender padded past
     * End of Option List this is less than the received data offset (the view,
     * {@link TcpPacket#headerLength()}, and {@link TcpSegment#payloadIndex()} have that).
     */
    public int headerLength() {
        return TcpPacket.MIN_HEADER_LENGTH + TcpOptions.paddedLength(options);
    }

    /** The first option of a type, or {@code null}. */
    public <T extends TcpOption> T option(Class<T> type) {
        return TcpOptions.find(options, type);
    }

    /** The same header with other options. */
    public TcpHeader withOptions(List<TcpOption> newOptions) {
        return new TcpHeader(sourcePort, destinationPort, seq, ack, reserved, flags, window, checksum, urgentPointer,
                newOptions);
    }

    /**
     * Appends the header, then {@code payload}, and fills in the checksum over the pseudo-header
     * (RFC 9293 §3.1).
     *
     * @param out     borrowed; header and payload are appended at its writer index
     * @param payload borrowed; its readable bytes are copied and its indexes are not changed (may be null)
     * @throws IllegalArgumentException when the options need more than 40 bytes or are otherwise
     *         not emittable (see {@link TcpOptions#emit}), or the segment would not fit an IPv4
     *         packet; nothing is left written then
     */
    public void emit(ByteBuf out, ByteBuf payload, int srcAddr, int dstAddr) {
        int optLen = TcpOptions.paddedLength(options);
        int payloadLength = payload == null ? 0 : payload.readableBytes();
        TcpOptions.checkEmittable(options);
        int length = TcpPacket.MIN_HEADER_LENGTH + optLen + payloadLength;
        if (length > MAX_SEGMENT_LENGTH) {
            throw new IllegalArgumentException("TCP segment of " + length + " bytes does not fit an IPv4 packet");
        }
        int start = out.writerIndex();
        out.writeShort(sourcePort);
        out.writeShort(destinationPort);
        out.writeInt(seq);
        out.writeInt(ack);
        out.writeByte((((TcpPacket.MIN_HEADER_LENGTH + optLen) / 4) << 4) | reserved);
        out.writeByte(flags);
        out.writeShort(window);
        out.writeShort(0);
        out.writeShort(urgentPointer);
        TcpOptions.emit(options, out);
        if (payload != null) {
            out.writeBytes(payload, payload.readerIndex(), payloadLength);
        }
        // RFC 9293 §3.1 (MUST-2, MUST-3): the checksum covers the pseudo-header, header and payload.
        long sum = Checksum.pseudoHeader(srcAddr, dstAddr, Ipv4Packet.PROTO_TCP, length);
        out.setShort(start + TcpPacket.CHECKSUM, Checksum.finish(Checksum.add(sum, out, start, length)));
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("TCP[").append(sourcePort).append(" > ").append(destinationPort)
                .append(" [").append(TcpFlags.format(flags)).append("] seq ").append(SeqNum.toString(seq));
        if (has(TcpFlags.ACK)) {
            sb.append(" ack ").append(SeqNum.toString(ack));
        }
        sb.append(" win ").append(window);
        if (has(TcpFlags.URG)) {
            sb.append(" urg ").append(urgentPointer);
        }
        if (!options.isEmpty()) {
            sb.append(" options ").append(options);
        }
        return sb.append(']').toString();
    }
}
