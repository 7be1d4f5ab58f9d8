package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.emitted;
import static io.opsec.stack.wire.WireTesting.withBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The OPSEC option in both framings (reading notes, decision 1), against golden bytes. */
class OpsecOptionTest {
    private static final TcpOptions.Codec LITERAL_200 = TcpOptions.Codec.literal(200);

    private static ParseResult<List<TcpOption>> parse(String hex, TcpOptions.Codec codec) {
        return withBytes(hex, buf -> TcpOptions.parse(buf, 0, buf.readableBytes(), codec));
    }

    private static String emit(TcpOption... options) {
        return emitted(out -> TcpOptions.emit(List.of(options), out));
    }

    @Test
    void experimental_oneTwoAndEightIds() {
        // 253 | len | 0x05 0xEC | ids..., then zero padding.
        check("fd0505ec00000000", TcpOptions.Codec.DEFAULT, OpsecOption.experimental(0), true);
        check("fd0605ec00010000", TcpOptions.Codec.DEFAULT, OpsecOption.experimental(0, 1), true);
        check("fd0c05ec0001020304050607", TcpOptions.Codec.DEFAULT, OpsecOption.experimental(0, 1, 2, 3, 4, 5, 6, 7),
                false);
    }

    @Test
    void literal_oneTwoAndEightIds() {
        check("c8030000", LITERAL_200, OpsecOption.literal(200, 0), true);
        check("c8040001", LITERAL_200, OpsecOption.literal(200, 0, 1), false);
        check("c80a00010203040506070000", LITERAL_200, OpsecOption.literal(200, 0, 1, 2, 3, 4, 5, 6, 7), true);
    }

    private static void check(String hex, TcpOptions.Codec codec, OpsecOption option, boolean padded) {
        List<TcpOption> parsed = parse(hex, codec).value();
        assertEquals(option, parsed.get(0), hex);
        assertEquals(padded, parsed.size() == 2 && parsed.get(1) instanceof TcpOption.Eol, hex);
        assertEquals(hex, emit(option));
        assertTrue(option.isValid());
    }

    @Test
    void noIds_parsesButIsNotValid() {
        OpsecOption exp = (OpsecOption) parse("fd0405ec", TcpOptions.Codec.DEFAULT).value().get(0);
        assertFalse(exp.isValid());
        assertEquals(0, exp.count());
        assertEquals("fd0405ec", emit(exp));
        OpsecOption lit = (OpsecOption) parse("c8020101", LITERAL_200).value().get(0);
        assertFalse(lit.isValid());
        assertEquals(OpsecOption.Framing.LITERAL, lit.framing());
    }

    @Test
    void kind253WithAForeignExid_isUnknown() {
        // TCP-ENO (RFC 8547) uses 253 with ExID 0x454E.
        assertEquals(new TcpOption.Unknown(253, WireTesting.hex("454e0001")),
                parse("fd06454e0001" + "0101", TcpOptions.Codec.DEFAULT).value().get(0));
        assertEquals(new TcpOption.Unknown(253, WireTesting.hex("05")),
                parse("fd030501", TcpOptions.Codec.DEFAULT).value().get(0), "too short to hold an ExID");
    }

    @Test
    void kind254WithOurExid_isOpsec() {
        OpsecOption o = (OpsecOption) parse("fe0505ec01000000", TcpOptions.Codec.DEFAULT).value().get(0);
        assertEquals(254, o.kind());
        assertArrayEquals(new int[] {1}, o.protocolIds());
        assertEquals("fe0505ec01000000", emit(o));
    }

    @Test
    void literalKind_isUnknownUnlessConfigured() {
        assertEquals(new TcpOption.Unknown(200, WireTesting.hex("00")),
                parse("c8030001", TcpOptions.Codec.DEFAULT).value().get(0));
        assertEquals(new TcpOption.Unknown(200, WireTesting.hex("00")),
                parse("c8030001", TcpOptions.Codec.literal(201)).value().get(0));
    }

    @Test
    void experimentalFraming_isRecognisedWhateverTheCodec() {
        assertEquals(OpsecOption.experimental(0, 1), parse("fd0605ec00010000", LITERAL_200).value().get(0));
    }

    @Test
    void literalFraming_refusesKindsTheParserReadsOtherwise() {
        for (int kind : new int[] {0, 1, 2, 3, 4, 5, 8, 253, 254}) {
            assertThrows(IllegalArgumentException.class, () -> OpsecOption.literal(kind, 0), "kind " + kind);
            if (kind > 1) {
                assertThrows(IllegalArgumentException.class, () -> TcpOptions.Codec.literal(kind), "codec kind " + kind);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new OpsecOption(OpsecOption.Framing.EXPERIMENTAL, 200,
                new byte[] {0}));
    }

    @Test
    void idsAreUnsignedAndOrdered() {
        OpsecOption o = (OpsecOption) parse("fd0705ecff8000", TcpOptions.Codec.DEFAULT).value().get(0);
        assertArrayEquals(new int[] {255, 128, 0}, o.protocolIds());
        assertTrue(o.contains(255));
        assertFalse(o.contains(1));
        assertThrows(IllegalArgumentException.class, () -> OpsecOption.experimental(256));
    }

    @Test
    void mostIdsThatFit_andNoMore() {
        int[] ids36 = java.util.stream.IntStream.range(0, 36).toArray();
        assertEquals(40, OpsecOption.experimental(ids36).length());
        assertThrows(IllegalArgumentException.class,
                () -> OpsecOption.experimental(java.util.stream.IntStream.range(0, 37).toArray()));
        assertEquals(40, OpsecOption.literal(200, java.util.stream.IntStream.range(0, 38).toArray()).length());
    }

    @Test
    void optionBeyondTheHeader_overruns() {
        assertEquals(ParseError.OPTION_OVERRUN, parse("fd0c05ec00010203", TcpOptions.Codec.DEFAULT).error());
        assertEquals(ParseError.OPTION_BAD_LENGTH, parse("fd0005ec", TcpOptions.Codec.DEFAULT).error());
    }
}
