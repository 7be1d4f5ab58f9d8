package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.function.Function;

/** Small helpers for wire tests: hex in, hex out, every buffer released. */
final class WireTesting {
    private WireTesting() {}

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    /** Runs {@code f} on a buffer holding {@code hex}, then releases it. */
    static <T> T withBytes(String hex, Function<ByteBuf, T> f) {
        ByteBuf buf = Unpooled.wrappedBuffer(hex(hex));
        try {
            return f.apply(buf);
        } finally {
            buf.release();
        }
    }

    /** What {@code writer} appends to an empty buffer, as lowercase hex. */
    static String emitted(Consumer<ByteBuf> writer) {
        ByteBuf out = Unpooled.buffer();
        try {
            writer.accept(out);
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    /** The header with its checksum field zeroed: emitted values carry 0 there, parsed ones the received sum. */
    static TcpHeader withoutChecksum(TcpHeader h) {
        return new TcpHeader(h.sourcePort(), h.destinationPort(), h.seq(), h.ack(), h.reserved(), h.flags(), h.window(),
                0, h.urgentPointer(), h.options());
    }

    /** As {@link #withoutChecksum(TcpHeader)} for IPv4. */
    static Ipv4Header withoutChecksum(Ipv4Header h) {
        return new Ipv4Header(h.headerLength(), h.tos(), h.totalLength(), h.identification(), h.flagsAndFragment(),
                h.ttl(), h.protocol(), 0, h.source(), h.destination());
    }
}
