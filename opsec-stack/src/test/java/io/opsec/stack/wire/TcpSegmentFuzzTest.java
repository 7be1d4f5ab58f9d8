package io.opsec.stack.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer fuzz target for the IPv4+TCP parser (see {@code docs/fuzzing.md}).
 *
 * <p>In a normal build it runs in regression mode: it replays the seed corpus in
 * {@code src/test/resources/io/opsec/stack/wire/TcpSegmentFuzzTestInputs/parseThenEmit/} (one raw
 * IPv4 packet per file) and any finding committed there. With {@code JAZZER_FUZZ=1} it fuzzes
 * for {@code maxDuration}.
 *
 * <p>What must hold for any bytes, under both OPSEC codecs:
 * <ul>
 *   <li>parsing never throws, with or without checksum verification (the parser documents no
 *       exception for bad input; only {@code IndexOutOfBoundsException} for a caller passing
 *       indexes outside the buffer, which this target never does);</li>
 *   <li>with verification, the result is either the same value or a checksum error;</li>
 *   <li>an accepted segment re-emits (options in their canonical form) without throwing, the
 *       emitted bytes parse with both checksums verified to the same values, and emitting that
 *       again gives the same bytes (a fixed point).</li>
 * </ul>
 */
class TcpSegmentFuzzTest {
    private static final List<TcpOptions.Codec> CODECS = List.of(TcpOptions.Codec.DEFAULT, TcpOptions.Codec.literal(200));
    private static final String HOOKS = "jazzer.hooks";
    private static String savedHooks;

    /**
     * When replaying (no {@code JAZZER_FUZZ}), turn off Jazzer's hooks: they only steer the
     * fuzzer and its sanitizers, and loading them costs the replay ten seconds or more. Jazzer
     * reads its options from JUnit configuration parameters, which fall back to system properties;
     * they are read when the first fuzz test's arguments are computed, after this runs.
     */
    @BeforeAll
    static void fastReplay() {
        String fuzz = System.getenv("JAZZER_FUZZ");
        savedHooks = System.getProperty(HOOKS);
        if ((fuzz == null || fuzz.isEmpty()) && savedHooks == null) {
            System.setProperty(HOOKS, "false");
        }
    }

    @AfterAll
    static void restore() {
        if (savedHooks == null) {
            System.clearProperty(HOOKS);
        }
    }

    @FuzzTest(maxDuration = "10m")
    void parseThenEmit(byte[] packet) {
        ByteBuf in = Unpooled.wrappedBuffer(packet);
        try {
            for (TcpOptions.Codec codec : CODECS) {
                check(in, codec);
            }
        } finally {
            in.release();
        }
    }

    private static void check(ByteBuf in, TcpOptions.Codec codec) {
        ParseResult<TcpSegment> lax = TcpSegment.parse(in, codec, false);
        ParseResult<TcpSegment> strict = TcpSegment.parse(in, codec, true);
        if (in.readerIndex() != 0) {
            throw new AssertionError("parse moved the reader index");
        }
        if (strict.isOk() && !(lax.isOk() && lax.value().equals(strict.value()))) {
            throw new AssertionError("verification changed an accepted value: " + lax + " vs " + strict);
        }
        if (!strict.isOk() && lax.isOk() && strict.error() != ParseError.IP_BAD_CHECKSUM
                && strict.error() != ParseError.TCP_BAD_CHECKSUM) {
            throw new AssertionError("verification failed for a reason other than a checksum: " + strict);
        }
        if (!lax.isOk()) {
            return;
        }
        TcpSegment seg = lax.value();
        byte[] first = emit(seg);
        ByteBuf again = Unpooled.wrappedBuffer(first);
        try {
            TcpSegment reparsed = TcpSegment.parse(again, codec, true).value();
            TcpHeader expectedTcp = seg.tcp().withOptions(TcpOptions.canonical(seg.tcp().options()));
            if (!WireTesting.withoutChecksum(expectedTcp).equals(WireTesting.withoutChecksum(reparsed.tcp()))) {
                throw new AssertionError("TCP header changed: " + expectedTcp + " became " + reparsed.tcp());
            }
            if (!seg.payload().equals(reparsed.payload())) {
                throw new AssertionError("payload changed");
            }
            Ipv4Header ip = seg.ip();
            if (ip.headerLength() != reparsed.ip().headerLength() || ip.source() != reparsed.ip().source()
                    || ip.destination() != reparsed.ip().destination() || ip.tos() != reparsed.ip().tos()
                    || ip.ttl() != reparsed.ip().ttl() || ip.identification() != reparsed.ip().identification()
                    || ip.flagsAndFragment() != reparsed.ip().flagsAndFragment()) {
                throw new AssertionError("IPv4 header changed: " + ip + " became " + reparsed.ip());
            }
            byte[] second = emit(reparsed);
            if (!java.util.Arrays.equals(first, second)) {
                throw new AssertionError("emission is not a fixed point:\n" + ByteBufUtil.hexDump(first) + "\n"
                        + ByteBufUtil.hexDump(second));
            }
        } finally {
            again.release();
        }
    }

    /** The segment as this stack emits it: same IPv4 header length (options zeroed), canonical TCP options. */
    private static byte[] emit(TcpSegment seg) {
        TcpHeader tcp = seg.tcp().withOptions(TcpOptions.canonical(seg.tcp().options()));
        Ipv4Header ip = seg.ip();
        Ipv4Header sized = new Ipv4Header(ip.headerLength(), ip.tos(),
                ip.headerLength() + tcp.headerLength() + seg.payloadLength(), ip.identification(),
                ip.flagsAndFragment(), ip.ttl(), ip.protocol(), 0, ip.source(), ip.destination());
        ByteBuf out = Unpooled.buffer(sized.totalLength());
        try {
            sized.emit(out);
            tcp.emit(out, seg.payload(), ip.source(), ip.destination());
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }
}
