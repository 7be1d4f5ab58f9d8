package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.opsec.stack.wire.Ipv4Header;
import io.opsec.stack.wire.Ipv4Packet;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ready-made middleboxes, on real IPv4/TCP packets built and checked with the wire package. */
class MiddleboxesTest {

    private static final int CLIENT = 0xC6120001; // 198.18.0.1
    private static final int SERVER = 0xC6120002; // 198.18.0.2
    private static final int ISS = 0xFFFFFFF0;    // near the wrap, on purpose
    private static final int IRS = 1000;

    private static final List<TcpOption> SYN_OPTIONS = List.of(new TcpOption.Mss(1460), new TcpOption.SackPermitted(),
            new TcpOption.Timestamps(1, 0), new TcpOption.Nop(), new TcpOption.WindowScale(7),
            OpsecOption.experimental(OpsecOption.PROTOCOL_TLS, 9));

    /** A client-to-server segment with a distinctive IPv4 header (TTL 33, TOS 0x10, id 4242). */
    static ByteBuf segment(int flags, int seq, int ack, List<TcpOption> options, String payload) {
        return packet(CLIENT, SERVER, 40000, 443, flags, seq, ack, options, payload);
    }

    static ByteBuf packet(int src, int dst, int sport, int dport, int flags, int seq, int ack,
                          List<TcpOption> options, String payload) {
        TcpHeader h = TcpHeader.of(sport, dport, seq, ack, flags, 29200, options);
        ByteBuf data = Unpooled.wrappedBuffer(payload.getBytes(StandardCharsets.US_ASCII));
        ByteBuf out = ByteBufAllocator.DEFAULT.buffer();
        int total = Ipv4Packet.MIN_HEADER_LENGTH + h.headerLength() + data.readableBytes();
        new Ipv4Header(20, 0x10, total, 4242, Ipv4Packet.FLAG_DF, 33, Ipv4Packet.PROTO_TCP, 0, src, dst).emit(out);
        h.emit(out, data, src, dst);
        return out;
    }

    static ByteBuf syn() {
        return segment(TcpFlags.SYN, ISS, 0, SYN_OPTIONS, "");
    }

    static ByteBuf synAck() {
        return packet(SERVER, CLIENT, 443, 40000, TcpFlags.SYN | TcpFlags.ACK, IRS, ISS + 1, SYN_OPTIONS, "");
    }

    static ByteBuf thirdAck() {
        return segment(TcpFlags.ACK, ISS + 1, IRS + 1, List.of(OpsecOption.experimental(0)), "");
    }

    static ByteBuf data() {
        return segment(TcpFlags.ACK | TcpFlags.PSH, ISS + 1, IRS + 1, List.of(OpsecOption.experimental(0)), "hello");
    }

    /** Parses with both checksums verified; the test fails if the middlebox broke them. */
    static TcpSegment parse(ByteBuf p) {
        ParseResult<TcpSegment> r = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT);
        assertTrue(r.isOk(), () -> "rewritten packet does not parse: " + r);
        return r.value();
    }

    /** Runs the middlebox and returns the options of what came out (null if dropped), releasing it. */
    static List<TcpOption> optionsAfter(Middlebox box, ByteBuf in) {
        ByteBuf out = box.process(in, 0);
        if (out == null) {
            return null;
        }
        try {
            return options(parse(out));
        } finally {
            out.release();
        }
    }

    /** The options as sent, without the End-of-List that parsing reports before the padding. */
    static List<TcpOption> options(TcpSegment seg) {
        return seg.tcp().options().stream().filter(o -> !(o instanceof TcpOption.Eol)).toList();
    }

    static List<TcpOption> without253(List<TcpOption> options) {
        return options.stream().filter(o -> o.kind() != 253).toList();
    }

    @Test
    void stripOnSyn_removesTheOptionFromTheSynOnly_withValidChecksums() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.syn());
        ByteBuf out = box.process(syn(), 0);
        TcpSegment seg = parse(out);
        assertEquals(without253(SYN_OPTIONS), options(seg));
        assertEquals(ISS, seg.tcp().seq());
        assertEquals(33, seg.ip().ttl());
        assertEquals(0x10, seg.ip().tos());
        assertEquals(4242, seg.ip().identification());
        assertEquals(Ipv4Packet.FLAG_DF, seg.ip().flagsAndFragment());
        assertEquals(out.readableBytes(), seg.ip().totalLength());
        out.release();
        assertEquals(SYN_OPTIONS, optionsAfter(box, synAck()));
        assertEquals(List.of(OpsecOption.experimental(0)), optionsAfter(box, thirdAck()));
    }

    @Test
    void stripOnSynAck_touchesOnlyTheSynAck() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.synAck());
        assertEquals(SYN_OPTIONS, optionsAfter(box, syn()));
        assertEquals(without253(SYN_OPTIONS), optionsAfter(box, synAck()));
    }

    @Test
    void stripOnHandshakeAck_touchesOnlyTheThirdSegment() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.handshakeAck());
        assertEquals(List.of(OpsecOption.experimental(0)), optionsAfter(box, thirdAck()), "no SYN seen yet");
        assertEquals(SYN_OPTIONS, optionsAfter(box, syn()));
        assertEquals(SYN_OPTIONS, optionsAfter(box, syn()), "a retransmitted SYN");
        assertEquals(List.of(), optionsAfter(box, thirdAck()));
        assertEquals(List.of(OpsecOption.experimental(0)), optionsAfter(box, data()), "only the first ACK");
    }

    @Test
    void stripOnAll_keepsThePayload() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.all());
        ByteBuf out = box.process(data(), 0);
        TcpSegment seg = parse(out);
        assertEquals(List.of(), options(seg));
        assertEquals("hello", seg.payload().toString(StandardCharsets.US_ASCII));
        out.release();
    }

    @Test
    void stripOpsec_recognisesTheLiteralFraming() {
        TcpOptions.Codec literal = TcpOptions.Codec.literal(200);
        ByteBuf in = segment(TcpFlags.SYN, ISS, 0, List.of(new TcpOption.Mss(1400), OpsecOption.literal(200, 0)), "");
        Middlebox box = Middleboxes.stripOpsec(Middleboxes.syn(), literal);
        assertEquals(List.of(new TcpOption.Mss(1400)), optionsAfter(box, in));
    }

    @Test
    void rewriteOpsecProtocols_mapsAndRemovesIds() {
        Middlebox box = Middleboxes.rewriteOpsecProtocols(Middleboxes.syn(), id -> id == 0 ? 7 : -1);
        List<TcpOption> out = optionsAfter(box, syn());
        assertEquals(OpsecOption.experimental(7), out.get(out.size() - 1));
        assertEquals(without253(SYN_OPTIONS), without253(out));
        Middlebox empty = Middleboxes.rewriteOpsecProtocols(Middleboxes.syn(), id -> -1);
        OpsecOption hollow = TcpOptions.find(optionsAfter(empty, syn()), OpsecOption.class);
        assertEquals(0, hollow.count(), "an option with no ids, as a hostile box may send");
    }

    @Test
    void duplicateOption_insertsACopyAfterTheFirst() {
        Middlebox box = Middleboxes.duplicateOption(253, Middleboxes.all());
        assertEquals(List.of(OpsecOption.experimental(0), OpsecOption.experimental(0)), optionsAfter(box, thirdAck()));
        // 34 option bytes plus a second 14-byte OPSEC option would not fit in 40: unchanged.
        ByteBuf in = segment(TcpFlags.SYN, ISS, 0, List.of(new TcpOption.Timestamps(1, 0), new TcpOption.Mss(1400),
                new TcpOption.SackPermitted(), new TcpOption.WindowScale(7), new TcpOption.Nop(),
                OpsecOption.experimental(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)), "");
        ByteBuf out = box.process(in, 0);
        assertSame(in, out);
        out.release();
    }

    @Test
    void dropSynWithUnknownOptions_dropsSynAndSynAck_butNotOthersOrCleanSyns() {
        Middlebox box = Middleboxes.dropSynWithUnknownOptions();
        assertNull(optionsAfter(box, syn()));
        assertNull(optionsAfter(box, synAck()));
        assertEquals(List.of(OpsecOption.experimental(0)), optionsAfter(box, thirdAck()));
        List<TcpOption> clean = without253(SYN_OPTIONS);
        assertEquals(clean, optionsAfter(box, segment(TcpFlags.SYN, ISS, 0, clean, "")));
        Middlebox knowsOpsec = Middleboxes.dropSynWithUnknownOptions(
                java.util.Set.of(0, 1, 2, 3, 4, 5, 8, 253));
        assertEquals(SYN_OPTIONS, optionsAfter(knowsOpsec, syn()));
    }

    @Test
    void unchangedPackets_passAsTheSameBuffer_withTheSameBytes() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.syn());
        ByteBuf in = synAck();
        String before = ByteBufUtil.hexDump(in);
        ByteBuf out = box.process(in, 0);
        assertSame(in, out);
        assertEquals(before, ByteBufUtil.hexDump(out));
        out.release();
        // A predicate that matches but a change that changes nothing also passes the buffer.
        ByteBuf in2 = syn();
        ByteBuf out2 = Middleboxes.stripOption(99, Middleboxes.all()).process(in2, 0);
        assertSame(in2, out2);
        out2.release();
    }

    @Test
    void corruptedOrForeignPackets_passUntouched_neverLaundered() {
        Middlebox box = Middleboxes.stripOption(253, Middleboxes.all());
        ByteBuf bad = syn();
        int last = bad.writerIndex() - 1;
        bad.setByte(last, bad.getByte(last) ^ 1); // break the TCP checksum
        String before = ByteBufUtil.hexDump(bad);
        ByteBuf out = box.process(bad, 0);
        assertSame(bad, out);
        assertEquals(before, ByteBufUtil.hexDump(out));
        out.release();
        ByteBuf notIp = ByteBufAllocator.DEFAULT.buffer().writeBytes(new byte[] {1, 2, 3});
        ByteBuf out2 = box.process(notIp, 0);
        assertSame(notIp, out2);
        out2.release();
    }

    @Test
    void onAMemoryLink_strippedSynsArriveAndDropsAreCounted() {
        try (MemoryLink.Pair wire = MemoryLink.builder()
                .middleboxAToB(Middleboxes.stripOption(253, Middleboxes.syn()))
                .middleboxBToA(Middleboxes.dropSynWithUnknownOptions()).build()) {
            wire.a().transmit(syn(), 0);
            wire.b().transmit(synAck(), 0);
            ByteBuf got = wire.b().receive(0);
            assertEquals(without253(SYN_OPTIONS), options(parse(got)));
            got.release();
            assertNull(wire.a().receive(0));
            assertEquals(1, wire.bToA().counters().middleboxDropped());
        }
    }

    @Test
    void middleboxes_compose() {
        Middlebox box = Middleboxes.rewriteOpsecProtocols(Middleboxes.all(), id -> id + 1)
                .andThen(Middleboxes.duplicateOption(253, Middleboxes.all()));
        assertEquals(List.of(OpsecOption.experimental(1), OpsecOption.experimental(1)), optionsAfter(box, thirdAck()));
        assertArrayEquals(new int[] {1}, OpsecOption.experimental(1).protocolIds());
    }
}
