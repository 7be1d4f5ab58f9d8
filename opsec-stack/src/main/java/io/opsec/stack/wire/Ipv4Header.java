package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * The value of an IPv4 header (RFC 791). Options are not kept: the stack neither sends nor
 * interprets them, and {@link #parse} skips them (their length is in {@code headerLength}).
 *
 * @param headerLength     header length in bytes (20 when emitted)
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

    public boolean isFragment() {
        return (flagsAndFragment & Ipv4Packet.FLAG_MF) != 0 || (flagsAndFragment & 0x1FFF) != 0;
    }

    public int payloadLength() {
        return totalLength - headerLength;
    }

    /**
     * Writes a 20-byte header (options are never emitted) with its checksum computed, at the
     * buffer's writer index.
     *
     * @param out borrowed; 20 bytes are appended
     * @throws IllegalArgumentException when the total length cannot hold the header
     */
    public void emit(ByteBuf out) {
        if (totalLength < Ipv4Packet.MIN_HEADER_LENGTH || totalLength > 0xFFFF) {
            throw new IllegalArgumentException("IPv4 total length " + totalLength + " out of range");
        }
        int start = out.writerIndex();
        out.writeByte(0x45);
        out.writeByte(tos);
        out.writeShort(totalLength);
        out.writeShort(identification);
        out.writeShort(flagsAndFragment);
        out.writeByte(ttl);
        out.writeByte(protocol);
        out.writeShort(0);
        out.writeInt(source);
        out.writeInt(destination);
        out.setShort(start + Ipv4Packet.CHECKSUM, Checksum.compute(out, start, Ipv4Packet.MIN_HEADER_LENGTH));
    }

    @Override
    public String toString() {
        return "IPv4[" + Ipv4Address.format(source) + " > " + Ipv4Address.format(destination) + " proto " + protocol
                + " len " + totalLength + " id " + identification + " ttl " + ttl
                + (isFragment() ? " frag" : "") + "]";
    }
}
