package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * The value of an IPv4 header (RFC 791). Options are not kept: the stack neither sends nor
 * interprets them, and {@link #parse} skips them (their length is in {@code headerLength}).
 * The version is not kept either: it is always 4.
 *
 * @param headerLength     header length in bytes, a multiple of 4 from 20 to 60
 * @param tos              DSCP and ECN bits
 * @param totalLength      header plus payload, in bytes
 * @param identification   the identification field
 * @param flagsAndFragment flags (DF, MF) and the fragment offset in 8-byte units
 * @param ttl              time to live
 * @param protocol         the transport protocol (6 for TCP)
 * @param checksum         the header checksum as received; recomputed on emit
 * @param source           source address
 * @param destination      destination address
 */
public record Ipv4Header(int headerLength, int tos, int totalLength, int identification, int flagsAndFragment,
                         int ttl, int protocol, int checksum, int source, int destination) {

    public Ipv4Header {
        if (headerLength < Ipv4Packet.MIN_HEADER_LENGTH || headerLength > Ipv4Packet.MAX_HEADER_LENGTH
                || headerLength % 4 != 0) {
            throw new IllegalArgumentException("IPv4 header length " + headerLength + " is not a multiple of 4 in 20..60");
        }
        check("TOS", tos, 0xFF);
        check("total length", totalLength, 0xFFFF);
        check("identification", identification, 0xFFFF);
        check("flags and fragment offset", flagsAndFragment, 0xFFFF);
        check("TTL", ttl, 0xFF);
        check("protocol", protocol, 0xFF);
        check("checksum", checksum, 0xFFFF);
    }

    private static void check(String what, int v, int max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("IPv4 " + what + " " + v + " out of 0.." + max);
        }
    }

    /** A default time to live for emitted packets (RFC 1700's recommendation, as Linux uses). */
    public static final int DEFAULT_TTL = 64;

    /** A header for a TCP payload of {@code payloadLength} bytes, with DF set and no options. */
    public static Ipv4Header tcp(int source, int destination, int payloadLength, int identification) {
        return new Ipv4Header(Ipv4Packet.MIN_HEADER_LENGTH, 0, Ipv4Packet.MIN_HEADER_LENGTH + payloadLength,
                identification & 0xFFFF, Ipv4Packet.FLAG_DF, DEFAULT_TTL, Ipv4Packet.PROTO_TCP, 0, source, destination);
    }

    /** The value of a checked view. */
    public static Ipv4Header parse(Ipv4Packet p) {
        return new Ipv4Header(p.headerLength(), p.tos(), p.totalLength(), p.identification(), p.flagsAndFragment(),
                p.ttl(), p.protocol(), p.checksum(), p.source(), p.destination());
    }

    /** A fragment of a larger datagram: More Fragments set or a non-zero offset (RFC 791). */
    public boolean isFragment() {
        return moreFragments() || fragmentOffset() != 0;
    }

    /** Don't Fragment is set. */
    public boolean dontFragment() {
        return (flagsAndFragment & Ipv4Packet.FLAG_DF) != 0;
    }

    /** More Fragments is set: another fragment of the datagram follows. */
    public boolean moreFragments() {
        return (flagsAndFragment & Ipv4Packet.FLAG_MF) != 0;
    }

    /** Fragment offset in bytes (the field counts 8-byte units). */
    public int fragmentOffset() {
        return (flagsAndFragment & Ipv4Packet.FRAGMENT_OFFSET_MASK) * 8;
    }

    /** Bytes after the header, up to the total length. */
    public int payloadLength() {
        return totalLength - headerLength;
    }

    /**
     * Writes the header with its checksum computed, at the buffer's writer index. Options are not
     * kept, so a header longer than 20 bytes is written with an option area of zero bytes (End of
     * Option List, RFC 791), which keeps {@code headerLength} and {@code totalLength} consistent.
     *
     * @param out borrowed; {@code headerLength} bytes are appended
     * @throws IllegalArgumentException when the total length cannot hold the header
     */
    public void emit(ByteBuf out) {
        if (totalLength < headerLength) {
            throw new IllegalArgumentException("IPv4 total length " + totalLength + " below the header length "
                    + headerLength);
        }
        int start = out.writerIndex();
        out.writeByte(0x40 | headerLength / 4);
        out.writeByte(tos);
        out.writeShort(totalLength);
        out.writeShort(identification);
        out.writeShort(flagsAndFragment);
        out.writeByte(ttl);
        out.writeByte(protocol);
        out.writeShort(0);
        out.writeInt(source);
        out.writeInt(destination);
        out.writeZero(headerLength - Ipv4Packet.MIN_HEADER_LENGTH);
        out.setShort(start + Ipv4Packet.CHECKSUM, Checksum.compute(out, start, headerLength));
    }

    @Override
    public String toString() {
        return "IPv4[" + Ipv4Address.format(source) + " > " + Ipv4Address.format(destination) + " proto " + protocol
                + " len " + totalLength + " id " + identification + " ttl " + ttl
                + (isFragment() ? " frag" : "") + "]";
    }
}
