package io.opsec.stack.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Properties of the wire layer (jqwik). The round trip is stated on the canonical form: an
 * emitter pads options with zero bytes, which read back as one End of Option List, so
 * {@code parse(emit(h))} equals {@code h} with {@link TcpOptions#canonical} options (and the
 * checksums the emitter computed).
 */
class WirePropertiesTest {
    /** The literal OPSEC kind the generated literal options use; parsed with a codec that knows it. */
    private static final int LITERAL = 200;
    private static final TcpOptions.Codec CODEC = TcpOptions.Codec.literal(LITERAL);

    // ---- generators ------------------------------------------------------------------------

    @Provide
    Arbitrary<TcpOption> option() {
        Arbitrary<Integer> u32 = Arbitraries.integers().between(Integer.MIN_VALUE, Integer.MAX_VALUE);
        Arbitrary<TcpOption.SackBlock> block = Combinators.combine(u32, u32).as(TcpOption.SackBlock::new);
        Arbitrary<byte[]> ids = Arbitraries.bytes().array(byte[].class).ofMaxSize(12);
        return Arbitraries.oneOf(
                Arbitraries.just(new TcpOption.Nop()),
                Arbitraries.integers().between(0, 0xFFFF).map(TcpOption.Mss::new),
                Arbitraries.integers().between(0, 255).map(TcpOption.WindowScale::new),
                Arbitraries.just(new TcpOption.SackPermitted()),
                block.list().ofMinSize(1).ofMaxSize(4).map(TcpOption.Sack::new),
                Combinators.combine(u32, u32).as(TcpOption.Timestamps::new),
                Combinators.combine(Arbitraries.of(253, 254), ids)
                        .as((k, b) -> new OpsecOption(OpsecOption.Framing.EXPERIMENTAL, k, b)),
                ids.map(b -> new OpsecOption(OpsecOption.Framing.LITERAL, LITERAL, b)),
                unknown());
    }

    private Arbitrary<TcpOption> unknown() {
        Arbitrary<Integer> kind = Arbitraries.integers().between(2, 255)
                .filter(k -> !TcpOptions.hasFixedMeaning(k) && k != LITERAL);
        Arbitrary<TcpOption> plain = Combinators.combine(kind, Arbitraries.bytes().array(byte[].class).ofMaxSize(14))
                .as(TcpOption.Unknown::new);
        // RFC 6994 options of other experiments: kind 253/254 with an ExID that is not OPSEC's.
        Arbitrary<TcpOption> foreign = Combinators.combine(Arbitraries.of(253, 254),
                Arbitraries.integers().between(0, 0xFFFF).filter(x -> x != OpsecOption.EXID),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(8)).as((k, exid, rest) -> {
                    byte[] d = new byte[2 + rest.length];
                    d[0] = (byte) (exid >>> 8);
                    d[1] = (byte) (int) exid;
                    System.arraycopy(rest, 0, d, 2, rest.length);
                    return new TcpOption.Unknown(k, d);
                });
        return Arbitraries.oneOf(plain, foreign);
    }

    /**
     * Option lists that fit in 40 bytes (the longest prefix of a generated list that fits, so no
     * tries are thrown away), sometimes ending in an EOL.
     */
    @Provide
    Arbitrary<List<TcpOption>> options() {
        return Combinators.combine(option().list().ofMaxSize(8), Arbitraries.of(false, false, true))
                .as((list, eol) -> {
                    List<TcpOption> l = new ArrayList<>();
                    int len = eol ? 1 : 0;
                    for (TcpOption o : list) {
                        if (len + o.length() > TcpOptions.MAX_LENGTH) {
                            break;
                        }
                        l.add(o);
                        len += o.length();
                    }
                    if (eol) {
                        l.add(new TcpOption.Eol());
                    }
                    return l;
                });
    }

    @Provide
    Arbitrary<TcpHeader> tcpHeader() {
        Arbitrary<Integer> u16 = Arbitraries.integers().between(0, 0xFFFF);
        Arbitrary<Integer> u32 = Arbitraries.integers().between(Integer.MIN_VALUE, Integer.MAX_VALUE);
        Arbitrary<int[]> fields = Combinators.combine(u16, u16, u32, u32, Arbitraries.integers().between(0, 15),
                        Arbitraries.integers().between(0, 255), u16, u16)
                .as((sp, dp, seq, ack, res, flags, win, urg) -> new int[] {sp, dp, seq, ack, res, flags, win, urg});
        return Combinators.combine(fields, options())
                .as((f, o) -> new TcpHeader(f[0], f[1], f[2], f[3], f[4], f[5], f[6], 0, f[7], o));
    }

    @Provide
    Arbitrary<Ipv4Header> ipHeader() {
        Arbitrary<Integer> u32 = Arbitraries.integers().between(Integer.MIN_VALUE, Integer.MAX_VALUE);
        return Combinators.combine(Arbitraries.integers().between(5, 15), Arbitraries.integers().between(0, 255),
                        Arbitraries.integers().between(0, 0xFFFF), Arbitraries.of(0, Ipv4Packet.FLAG_DF, 0x8000),
                        Arbitraries.integers().between(0, 255), u32, u32)
                // Total length is set once the segment is known; 0 here would not construct, so use the header length.
                .as((ihl, tos, id, ff, ttl, src, dst) -> new Ipv4Header(ihl * 4, tos, ihl * 4, id, ff, ttl,
                        Ipv4Packet.PROTO_TCP, 0, src, dst));
    }

    // ---- round trips -------------------------------------------------------------------------

    @Property
    void optionList_parseOfEmit_isCanonicalForm(@ForAll("options") List<TcpOption> options) {
        ByteBuf out = Unpooled.buffer();
        try {
            int written = TcpOptions.emit(options, out);
            assertEquals(0, written % 4);
            assertEquals(TcpOptions.paddedLength(options), written);
            List<TcpOption> parsed = TcpOptions.parse(out, 0, written, CODEC).value();
            assertEquals(TcpOptions.canonical(options), parsed);
            assertEquals(parsed, TcpOptions.canonical(parsed));
        } finally {
            out.release();
        }
    }

    @Property
    void segment_parseOfEmit_isTheHeaderWithCanonicalOptions(@ForAll("ipHeader") Ipv4Header ipTemplate,
                                                             @ForAll("tcpHeader") TcpHeader tcp,
                                                             @ForAll @Size(max = 64) byte[] payloadBytes) {
        Ipv4Header ip = new Ipv4Header(ipTemplate.headerLength(), ipTemplate.tos(),
                ipTemplate.headerLength() + tcp.headerLength() + payloadBytes.length, ipTemplate.identification(),
                ipTemplate.flagsAndFragment(), ipTemplate.ttl(), ipTemplate.protocol(), 0, ipTemplate.source(),
                ipTemplate.destination());
        ByteBuf out = Unpooled.buffer();
        ByteBuf payload = Unpooled.wrappedBuffer(payloadBytes);
        try {
            ip.emit(out);
            tcp.emit(out, payload, ip.source(), ip.destination());
            TcpSegment seg = TcpSegment.parse(out, CODEC).value();
            assertEquals(ip, WireTesting.withoutChecksum(seg.ip()));
            assertEquals(tcp.withOptions(TcpOptions.canonical(tcp.options())), WireTesting.withoutChecksum(seg.tcp()));
            assertArrayEquals(payloadBytes, ByteBufUtil.getBytes(seg.payload()));
        } finally {
            out.release();
            payload.release();
        }
    }

    // ---- the parser never throws ---------------------------------------------------------------

    @Property(tries = 3000)
    void parser_neverThrows_onArbitraryBytes(@ForAll @Size(max = 120) byte[] bytes, @ForAll boolean verify) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            ParseResult<TcpSegment> r = TcpSegment.parse(buf, CODEC, verify);
            assertNotNull(r);
        } finally {
            buf.release();
        }
    }

    /** Arbitrary bytes rarely get past the IPv4 checks; these start from a valid packet and damage it. */
    @Property(tries = 1500)
    void parser_neverThrows_onDamagedValidPackets(@ForAll("ipHeader") Ipv4Header ipTemplate,
                                                  @ForAll("tcpHeader") TcpHeader tcp,
                                                  @ForAll @Size(min = 1, max = 6) List<@IntRange(max = 1000) Integer> at,
                                                  @ForAll @Size(min = 6, max = 6) byte[] with,
                                                  @ForAll @IntRange(max = 100) int cut) {
        ByteBuf out = Unpooled.buffer();
        try {
            new Ipv4Header(ipTemplate.headerLength(), 0, ipTemplate.headerLength() + tcp.headerLength(), 0, 0, 64,
                    Ipv4Packet.PROTO_TCP, 0, ipTemplate.source(), ipTemplate.destination()).emit(out);
            tcp.emit(out, null, ipTemplate.source(), ipTemplate.destination());
            for (int i = 0; i < at.size(); i++) {
                out.setByte(at.get(i) % out.writerIndex(), with[i]);
            }
            out.writerIndex(Math.max(0, out.writerIndex() - cut % 8));
            for (boolean verify : new boolean[] {false, true}) {
                assertNotNull(TcpSegment.parse(out, CODEC, verify));
                assertNotNull(TcpSegment.parse(out, TcpOptions.Codec.DEFAULT, verify));
            }
        } finally {
            out.release();
        }
    }

    @Property(tries = 3000)
    void optionParser_neverThrows_onArbitraryBytes(@ForAll @Size(max = 40) byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            ParseResult<List<TcpOption>> r = TcpOptions.parse(buf, 0, bytes.length, CODEC);
            if (r.isOk()) {
                // Whatever parses re-emits (when it fits) to bytes that parse to its canonical form.
                List<TcpOption> canon = TcpOptions.canonical(r.value());
                Assume.that(TcpOptions.length(canon) <= TcpOptions.MAX_LENGTH);
                ByteBuf out = Unpooled.buffer();
                try {
                    TcpOptions.emit(canon, out);
                    assertEquals(canon, TcpOptions.parse(out, 0, out.writerIndex(), CODEC).value());
                } finally {
                    out.release();
                }
            }
        } finally {
            buf.release();
        }
    }

    // ---- checksums -------------------------------------------------------------------------------

    /**
     * RFC 1624 eqn. 3 equals recomputation whenever the new data is not all zeros (where
     * recomputation gives 0xFFFF and eqn. 3 the other zero, 0x0000). An IPv4 header (version
     * nibble 4) and a TCP pseudo-header (protocol 6) are never all zeros.
     */
    @Property(tries = 2000)
    void incrementalUpdate16_equalsRecomputation(@ForAll @Size(min = 2, max = 64) byte[] data,
                                                 @ForAll @IntRange(max = 31) int word,
                                                 @ForAll @IntRange(max = 0xFFFF) int newValue) {
        byte[] even = java.util.Arrays.copyOf(data, data.length & ~1);
        Assume.that(even.length >= 2);
        int at = (word % (even.length / 2)) * 2;
        ByteBuf buf = Unpooled.wrappedBuffer(even);
        try {
            int before = Checksum.compute(buf, 0, even.length);
            int old = buf.getUnsignedShort(at);
            buf.setShort(at, newValue);
            Assume.that(!allZero(buf));
            assertEquals(Checksum.compute(buf, 0, even.length), Checksum.update16(before, old, newValue));
        } finally {
            buf.release();
        }
    }

    @Property(tries = 500)
    void incrementalUpdate32_keepsATcpSegmentValid(@ForAll("tcpHeader") TcpHeader tcp,
                                                   @ForAll int src, @ForAll int dst, @ForAll int newSrc, @ForAll int newSeq) {
        ByteBuf out = Unpooled.buffer();
        try {
            tcp.emit(out, null, src, dst);
            // Rewrite the sequence number and (as a NAT would) the source address in the pseudo-header.
            int sum = out.getUnsignedShort(TcpPacket.CHECKSUM);
            sum = Checksum.update32(sum, out.getInt(TcpPacket.SEQ), newSeq);
            sum = Checksum.update32(sum, src, newSrc);
            out.setInt(TcpPacket.SEQ, newSeq);
            out.setShort(TcpPacket.CHECKSUM, 0);
            long fresh = Checksum.pseudoHeader(newSrc, dst, Ipv4Packet.PROTO_TCP, out.writerIndex());
            assertEquals(Checksum.finish(Checksum.add(fresh, out, 0, out.writerIndex())), sum);
        } finally {
            out.release();
        }
    }

    private static boolean allZero(ByteBuf buf) {
        for (int i = 0; i < buf.capacity(); i++) {
            if (buf.getByte(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
