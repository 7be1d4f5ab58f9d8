package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;

/**
 * A whole parsed IPv4/TCP packet: both header values and where the payload lies.
 *
 * <p>Parsing goes IPv4 first, then TCP, and stops at the first failure with its reason. The
 * segment <b>borrows</b> the buffer it was parsed from: {@link #payload()} is a slice that shares
 * its memory and reference count (retain it to keep it past the buffer's release).
 *
 * @param ip            the IPv4 header
 * @param tcp           the TCP header
 * @param buffer        the packet's buffer (borrowed)
 * @param payloadIndex  absolute index of the first payload byte
 * @param payloadLength payload length in bytes
 */
public record TcpSegment(Ipv4Header ip, TcpHeader tcp, ByteBuf buffer, int payloadIndex, int payloadLength) {

    /**
     * Parses one IPv4 packet carrying TCP, verifying both checksums.
     *
     * @param packet borrowed; its indexes are not changed
     */
    public static ParseResult<TcpSegment> parse(ByteBuf packet, TcpOptions.Codec codec) {
        return parse(packet, codec, true);
    }

    /** As {@link #parse(ByteBuf, TcpOptions.Codec)}, optionally skipping checksum verification. */
    public static ParseResult<TcpSegment> parse(ByteBuf packet, TcpOptions.Codec codec, boolean verifyChecksums) {
        ParseResult<Ipv4Packet> ipr = Ipv4Packet.check(packet, verifyChecksums);
        if (ipr instanceof ParseResult.Err<Ipv4Packet> err) {
            return err.cast();
        }
        Ipv4Packet ip = ipr.value();
        if (ip.isFragment()) {
            // Recognised and reported; the stack does not reassemble (issue: wire formats).
            return ParseResult.err(ParseError.IP_FRAGMENT, "offset " + ip.fragmentOffset()
                    + (ip.moreFragments() ? " MF" : ""));
        }
        if (ip.protocol() != Ipv4Packet.PROTO_TCP) {
            return ParseResult.err(ParseError.IP_NOT_TCP, "protocol " + ip.protocol());
        }
        ParseResult<TcpPacket> tcpr = TcpPacket.check(ip, verifyChecksums);
        if (tcpr instanceof ParseResult.Err<TcpPacket> err) {
            return err.cast();
        }
        TcpPacket tcp = tcpr.value();
        ParseResult<TcpHeader> hr = TcpHeader.parse(tcp, codec);
        if (hr instanceof ParseResult.Err<TcpHeader> err) {
            return err.cast();
        }
        return ParseResult.ok(new TcpSegment(Ipv4Header.parse(ip), hr.value(), packet, tcp.payloadIndex(),
                tcp.payloadLength()));
    }

    /** The payload as a slice sharing the packet's memory and reference count (not retained). */
    public ByteBuf payload() {
        return buffer.slice(payloadIndex, payloadLength);
    }

    /**
     * Builds a whole packet: a 20-byte IPv4 header, the TCP header and the payload, with both
     * checksums.
     *
     * @param out     borrowed; the packet is appended at its writer index
     * @param payload borrowed; copied (may be null)
     */
    public static void emit(ByteBuf out, int srcAddr, int dstAddr, int identification, TcpHeader tcp, ByteBuf payload) {
        int payloadLength = payload == null ? 0 : payload.readableBytes();
        int total = Ipv4Packet.MIN_HEADER_LENGTH + tcp.headerLength() + payloadLength;
        Ipv4Header.tcp(srcAddr, dstAddr, total - Ipv4Packet.MIN_HEADER_LENGTH, identification).emit(out);
        tcp.emit(out, payload, srcAddr, dstAddr);
    }

    @Override
    public String toString() {
        return Ipv4Address.format(ip.source()) + ":" + tcp.sourcePort() + " > " + Ipv4Address.format(ip.destination())
                + ":" + tcp.destinationPort() + " " + tcp + (payloadLength > 0 ? " len " + payloadLength : "");
    }
}
