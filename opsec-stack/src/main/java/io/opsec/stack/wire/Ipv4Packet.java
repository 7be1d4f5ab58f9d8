package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * A checked view over the bytes of one IPv4 packet (RFC 791). {@link #check} validates the
 * lengths once; the getters then read the buffer without further checks.
 *
 * <p>The view <b>borrows</b> its buffer: it neither retains nor releases it, and is valid only while
 * the caller keeps the buffer alive. Offsets are relative to the buffer's reader index at check
 * time.
 */
public final class Ipv4Packet {
    /** Offsets of the fixed header fields. */
    public static final int VER_IHL = 0, TOS = 1, TOTAL_LENGTH = 2, IDENT = 4, FLAGS_FRAG = 6,
            TTL = 8, PROTOCOL = 9, CHECKSUM = 10, SRC = 12, DST = 16;
    /** Length of a header without options. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Length of the longest header (IHL 15). */
    public static final int MAX_HEADER_LENGTH = 60;
    /** IP protocol number of TCP. */
    public static final int PROTO_TCP = 6;
    /** The Don't Fragment and More Fragments bits of the flags/offset field. */
    public static final int FLAG_DF = 0x4000, FLAG_MF = 0x2000;
    /** The fragment offset bits of the flags/offset field (in 8-byte units). */
    public static final int FRAGMENT_OFFSET_MASK = 0x1FFF;

    private final ByteBuf buf;
    private final int base;

    private Ipv4Packet(ByteBuf buf, int base) {
        this.buf = buf;
        this.base = base;
    }

    /**
     * Checks that the readable bytes hold an IPv4 packet whose header and total length fit, and
     * (when {@code verifyChecksum}) that its header checksum verifies. Bytes past the total length
     * (link padding) are ignored.
     */
    public static ParseResult<Ipv4Packet> check(ByteBuf buf, boolean verifyChecksum) {
        int base = buf.readerIndex();
        int avail = buf.readableBytes();
        if (avail < MIN_HEADER_LENGTH) {
            return ParseResult.err(ParseError.IP_TRUNCATED, avail + " bytes");
        }
        int verIhl = buf.getUnsignedByte(base + VER_IHL);
        if ((verIhl >>> 4) != 4) {
            return ParseResult.err(ParseError.IP_BAD_VERSION, "version " + (verIhl >>> 4));
        }
        int headerLength = (verIhl & 0x0F) * 4;
        if (headerLength < MIN_HEADER_LENGTH || headerLength > avail) {
            return ParseResult.err(ParseError.IP_BAD_IHL, "IHL " + (verIhl & 0x0F) + " with " + avail + " bytes");
        }
        int total = buf.getUnsignedShort(base + TOTAL_LENGTH);
        if (total < headerLength || total > avail) {
            return ParseResult.err(ParseError.IP_BAD_TOTAL_LENGTH, "total length " + total + " with " + avail + " bytes");
        }
        if (verifyChecksum && Checksum.compute(buf, base, headerLength) != 0) {
            return ParseResult.err(ParseError.IP_BAD_CHECKSUM,
                    String.format("checksum 0x%04x", buf.getUnsignedShort(base + CHECKSUM)));
        }
        return ParseResult.ok(new Ipv4Packet(buf, base));
    }

    public int version() { return buf.getUnsignedByte(base + VER_IHL) >>> 4; }
    public int headerLength() { return (buf.getUnsignedByte(base + VER_IHL) & 0x0F) * 4; }
    public int tos() { return buf.getUnsignedByte(base + TOS); }
    public int totalLength() { return buf.getUnsignedShort(base + TOTAL_LENGTH); }
    public int identification() { return buf.getUnsignedShort(base + IDENT); }
    public int flagsAndFragment() { return buf.getUnsignedShort(base + FLAGS_FRAG); }
    public boolean dontFragment() { return (flagsAndFragment() & FLAG_DF) != 0; }
    public boolean moreFragments() { return (flagsAndFragment() & FLAG_MF) != 0; }
    /** Fragment offset in bytes. */
    public int fragmentOffset() { return (flagsAndFragment() & FRAGMENT_OFFSET_MASK) * 8; }
    /** A fragment of a larger datagram: MF set or a non-zero offset. */
    public boolean isFragment() { return moreFragments() || fragmentOffset() != 0; }
    public int ttl() { return buf.getUnsignedByte(base + TTL); }
    public int protocol() { return buf.getUnsignedByte(base + PROTOCOL); }
    public int checksum() { return buf.getUnsignedShort(base + CHECKSUM); }
    public int source() { return buf.getInt(base + SRC); }
    public int destination() { return buf.getInt(base + DST); }
    /** Absolute index in the buffer of the first payload byte. */
    public int payloadIndex() { return base + headerLength(); }
    public int payloadLength() { return totalLength() - headerLength(); }
    /** The underlying buffer (borrowed). */
    public ByteBuf buffer() { return buf; }
    /** Absolute index in the buffer of the first header byte. */
    public int baseIndex() { return base; }
}
