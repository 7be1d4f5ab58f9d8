package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.withoutChecksum;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every vector in {@code src-test-vectors/} both ways: parsing the packet gives the expected
 * fields and options (or the expected error), and, where the vector is canonical, emitting the
 * expected values gives the packet's bytes exactly.
 */
class WireVectorsTest {
    private static final List<WireVectors.Vector> VECTORS = WireVectors.all();

    @TestFactory
    Stream<DynamicTest> parse() {
        return VECTORS.stream().map(v -> DynamicTest.dynamicTest("parse " + v, () -> checkParse(v)));
    }

    @TestFactory
    Stream<DynamicTest> emitCanonical() {
        return VECTORS.stream().filter(WireVectors.Vector::canonical)
                .map(v -> DynamicTest.dynamicTest("emit " + v, () -> checkEmit(v)));
    }

    @TestFactory
    Stream<DynamicTest> reemitParsed_isStable() {
        return VECTORS.stream().filter(WireVectors.Vector::isOk)
                .map(v -> DynamicTest.dynamicTest("re-emit " + v, () -> checkReemit(v)));
    }

    private static void checkParse(WireVectors.Vector v) {
        ByteBuf buf = Unpooled.wrappedBuffer(v.packet());
        try {
            ParseResult<TcpSegment> r = TcpSegment.parse(buf, v.codec());
            assertEquals(0, buf.readerIndex(), "parse must not move the reader index");
            if (!v.isOk()) {
                assertEquals(v.error(), String.valueOf(r.error()), () -> "result " + r);
                if (v.hasIp()) {
                    // The IPv4 header itself is fine (fragments, other protocols, TCP errors): its fields are reported.
                    Ipv4Packet ip = Ipv4Packet.check(buf, true).value();
                    checkIp(v.ipJson(), ip, Ipv4Header.parse(ip));
                    assertEquals(v.ip(), Ipv4Header.parse(ip));
                }
                return;
            }
            TcpSegment seg = r.value();
            checkIp(v.ipJson(), Ipv4Packet.check(buf, true).value(), seg.ip());
            assertEquals(v.ip(), seg.ip());
            assertEquals(v.tcp(), seg.tcp());
            JsonNode t = v.tcpJson();
            assertEquals(t.get("header_length").asInt(), TcpPacket.check(Ipv4Packet.check(buf, true).value(), true)
                    .value().headerLength());
            List<String> names = new ArrayList<>();
            t.get("flag_names").forEach(n -> names.add(n.asText()));
            assertEquals(names.isEmpty() ? "none" : String.join(",", names), TcpFlags.names(seg.tcp().flags()));
            int i = 0;
            for (JsonNode o : t.get("options")) {
                TcpOption parsed = seg.tcp().options().get(i++);
                if (parsed instanceof OpsecOption opsec) {
                    assertEquals(o.get("valid").asBoolean(), opsec.isValid(), "OPSEC validity");
                }
            }
            assertArrayEquals(v.payload(), ByteBufUtil.getBytes(seg.payload()));
        } finally {
            buf.release();
        }
    }

    private static void checkIp(JsonNode e, Ipv4Packet view, Ipv4Header ip) {
        assertEquals(e.get("version").asInt(), view.version());
        assertEquals(e.get("dont_fragment").asBoolean(), ip.dontFragment());
        assertEquals(e.get("more_fragments").asBoolean(), ip.moreFragments());
        assertEquals(e.get("fragment_offset").asInt(), ip.fragmentOffset());
        assertEquals(e.get("more_fragments").asBoolean() || e.get("fragment_offset").asInt() != 0, ip.isFragment());
        assertEquals(e.get("src").asText(), Ipv4Address.format(ip.source()));
        assertEquals(e.get("dst").asText(), Ipv4Address.format(ip.destination()));
    }

    private static void checkEmit(WireVectors.Vector v) {
        ByteBuf out = Unpooled.buffer();
        ByteBuf payload = Unpooled.wrappedBuffer(v.payload());
        try {
            Ipv4Header ip = v.ip();
            ip.emit(out);
            v.tcp().emit(out, payload, ip.source(), ip.destination());
            assertEquals(ByteBufUtil.hexDump(v.packet()), ByteBufUtil.hexDump(out));
        } finally {
            out.release();
            payload.release();
        }
    }

    /** Any parsed value, canonical or not, re-emits to bytes that parse back to the same value. */
    private static void checkReemit(WireVectors.Vector v) {
        ByteBuf in = Unpooled.wrappedBuffer(v.packet());
        ByteBuf out = Unpooled.buffer();
        try {
            TcpSegment seg = TcpSegment.parse(in, v.codec()).value();
            TcpHeader tcp = seg.tcp().withOptions(TcpOptions.canonical(seg.tcp().options()));
            Ipv4Header ip = seg.ip();
            Ipv4Header resized = new Ipv4Header(ip.headerLength(), ip.tos(),
                    ip.headerLength() + tcp.headerLength() + seg.payloadLength(), ip.identification(),
                    ip.flagsAndFragment(), ip.ttl(), ip.protocol(), 0, ip.source(), ip.destination());
            resized.emit(out);
            tcp.emit(out, seg.payload(), ip.source(), ip.destination());
            TcpSegment again = TcpSegment.parse(out, v.codec()).value();
            assertEquals(withoutChecksum(tcp), withoutChecksum(again.tcp()));
            assertEquals(resized, withoutChecksum(again.ip()));
            assertEquals(seg.payload(), again.payload());
        } finally {
            in.release();
            out.release();
        }
    }

    @Test
    void vectors_coverEveryErrorAndOptionType() {
        assertTrue(VECTORS.size() >= 80, "at least 80 vectors, found " + VECTORS.size());
        Set<String> names = new HashSet<>();
        EnumSet<ParseError> errors = EnumSet.noneOf(ParseError.class);
        Set<Class<?>> optionTypes = new HashSet<>();
        Set<String> framings = new HashSet<>();
        for (WireVectors.Vector v : VECTORS) {
            assertTrue(names.add(v.name()), "duplicate vector name " + v.name());
            assertNotNull(v.description());
            if (!v.isOk()) {
                errors.add(ParseError.valueOf(v.error()));
                continue;
            }
            for (JsonNode o : v.tcpJson().get("options")) {
                TcpOption opt = WireVectors.option(o);
                optionTypes.add(opt.getClass());
                if (opt instanceof OpsecOption opsec) {
                    framings.add(opsec.framing() + "/" + opsec.count());
                }
            }
        }
        assertEquals(EnumSet.allOf(ParseError.class), errors, "every ParseError has a vector");
        assertEquals(Set.of(TcpOption.Eol.class, TcpOption.Nop.class, TcpOption.Mss.class, TcpOption.WindowScale.class,
                TcpOption.SackPermitted.class, TcpOption.Sack.class, TcpOption.Timestamps.class,
                TcpOption.Unknown.class, OpsecOption.class), optionTypes);
        for (String f : List.of("EXPERIMENTAL/0", "EXPERIMENTAL/1", "EXPERIMENTAL/2", "EXPERIMENTAL/8",
                "LITERAL/0", "LITERAL/1", "LITERAL/2", "LITERAL/8")) {
            assertTrue(framings.contains(f), "an OPSEC vector with framing/ids " + f);
        }
    }
}
