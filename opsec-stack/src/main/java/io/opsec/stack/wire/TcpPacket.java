package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * A checked view over the bytes of one TCP segment (RFC 9293 §3.1): the header and the payload
 * that follows it. {@link #check} validates lengths (and the checksum) once.
 *
 * <p>The view <b>borrows</b> its buffer; indexes are absolute and fixed at check time.
 */
public final class TcpPacket {
    /** Offsets of the fixed header fields. */
    public static final int SRC_PORT = 0, DST_PORT = 2, SEQ = 4, ACK = 8, DATA_OFFSET = 12, FLAGS = 13,
            WINDOW = 14, CHECKSUM = 16, URGENT = 18;
    /** Length of a header without options. */
    public static final int MIN_HEADER_LENGTH = 20;

    private final ByteBuf buf;
    private final int base;
    private final int length;

    private TcpPacket(ByteBuf buf, int base, int length) {
        this.buf = buf;
        this.base = base;
        this.length = length;
    }

    /**
     * Checks the {@code length} bytes at absolute index {@code base} as a TCP segment sent from
     * {@code srcAddr} to {@code dstAddr}. The checksum covers the pseudo-header (RFC 9293 §3.1,
     * MUST-2/MUST-3) and is verified when {@code verifyChecksum}.
     *
     * @param buf borrowed; indexes are not changed
     * @throws IndexOutOfBoundsException when {@code base} and {@code length} do not lie within the
     *         buffer's capacity (a caller's bug, not bad input)
     */
    public static ParseResult<TcpPacket> check(ByteBuf buf, int base, int length, int srcAddr, int dstAddr,
                                              boolean verifyChecksum) {
        java.util.Objects.checkFromIndexSize(base, length, buf.capacity());
        if (length < MIN_HEADER_LENGTH) {
            return ParseResult.err(ParseError.TCP_TRUNCATED, length + " bytes");
        }
        int dataOffset = (buf.getUnsignedByte(base + DATA_OFFSET) >>> 4) * 4;
        if (dataOffset < MIN_HEADER_LENGTH || dataOffset > length) {
            return ParseResult.err(ParseError.TCP_BAD_DATA_OFFSET, "data offset " + dataOffset / 4 + " words with "
                    + length + " bytes");
        }
        if (verifyChecksum) {
            long sum = Checksum.pseudoHeader(srcAddr, dstAddr, Ipv4Packet.PROTO_TCP, length);
            if (Checksum.finish(Checksum.add(sum, buf, base, length)) != 0) {
                return ParseResult.err(ParseError.TCP_BAD_CHECKSUM,
                        String.format("checksum 0x%04x", buf.getUnsignedShort(base + CHECKSUM)));
            }
        }
        return ParseResult.ok(new TcpPacket(buf, base, length));
    }

    /** Checks the TCP payload of a checked IPv4 packet. */
    public static ParseResult<TcpPacket> check(Ipv4Packet ip, boolean verifyChecksum) {
        return check(ip.buffer(), ip.payloadIndex(), ip.payloadLength(), ip.source(), ip.destination(), verifyChecksum);
    }

    public int sourcePort() { return buf.getUnsignedShort(base + SRC_PORT); }
    public int destinationPort() { return buf.getUnsignedShort(base + DST_PORT); }
    public int seq() { return buf.getInt(base + SEQ); }
    public int ack() { return buf.getInt(base + ACK); }
    /** Header length in bytes. */
    public int headerLength() { return (buf.getUnsignedByte(base + DATA_OFFSET) >>> 4) * 4; }
    /** The four reserved bits (the last one was once the ECN nonce, NS). */
    public int reserved() { return buf.getUnsignedByte(base + DATA_OFFSET) & 0x0F; }
    public int flags() { return buf.getUnsignedByte(base + FLAGS); }
    public int window() { return buf.getUnsignedShort(base + WINDOW); }
    public int checksum() { return buf.getUnsignedShort(base + CHECKSUM); }
    public int urgentPointer() { return buf.getUnsignedShort(base + URGENT); }
    /** Absolute index of the first option byte. */
    public int optionsIndex() { return base + MIN_HEADER_LENGTH; }
    public int optionsLength() { return headerLength() - MIN_HEADER_LENGTH; }
    /** Absolute index of the first payload byte. */
    public int payloadIndex() { return base + headerLength(); }
    public int payloadLength() { return length - headerLength(); }
    /** Segment length in bytes (header and payload). */
    public int length() { return length; }
    /** Absolute index of the first header byte. */
    public int baseIndex() { return base; }
    /** The underlying buffer (borrowed). */
    public ByteBuf buffer() { return buf; }
}
