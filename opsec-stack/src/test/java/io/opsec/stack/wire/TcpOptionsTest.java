package io.opsec.stack.wire;

import static io.opsec.stack.wire.WireTesting.emitted;
import static io.opsec.stack.wire.WireTesting.withBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** TCP option lists (RFC 9293 §3.1, RFC 7323, RFC 2018) against golden bytes written by hand. */
class TcpOptionsTest {
    private static final TcpOption EOL = new TcpOption.Eol();
    private static final TcpOption NOP = new TcpOption.Nop();

    private static ParseResult<List<TcpOption>> parse(String hex, TcpOptions.Codec codec) {
        return withBytes(hex, buf -> TcpOptions.parse(buf, 0, buf.readableBytes(), codec));
    }

    private static ParseResult<List<TcpOption>> parse(String hex) {
        return parse(hex, TcpOptions.Codec.DEFAULT);
    }

    private static String emit(TcpOption... options) {
        return emitted(out -> TcpOptions.emit(List.of(options), out));
    }

    @Test
    void everyKnownKind_parsesAndEmitsGoldenBytes() {
        check("00000000", EOL);
        check("01010101", NOP, NOP, NOP, NOP);
        check("020405b4", new TcpOption.Mss(1460));
        check("01030307", NOP, new TcpOption.WindowScale(7));
        check("01010402", NOP, NOP, new TcpOption.SackPermitted());
        check("0101050a0000100000001800", NOP, NOP, new TcpOption.Sack(List.of(new TcpOption.SackBlock(0x1000, 0x1800))));
        check("0101080a0102030405060708", NOP, NOP, new TcpOption.Timestamps(0x01020304, 0x05060708));
        check("1e0a00810102030405060101", new TcpOption.Unknown(30, WireTesting.hex("0081010203040506")), NOP, NOP);
    }

    private static void check(String hex, TcpOption... options) {
        assertEquals(List.of(options), parse(hex).value(), hex);
        assertEquals(hex, emit(options));
    }

    @Test
    void sack_withOneToFourBlocks() {
        for (int n = 1; n <= 4; n++) {
            StringBuilder hex = new StringBuilder("0101").append(String.format("05%02x", 2 + 8 * n));
            java.util.ArrayList<TcpOption.SackBlock> blocks = new java.util.ArrayList<>();
            for (int b = 0; b < n; b++) {
                hex.append(String.format("%08x%08x", 0xfffffff0 + b, b * 16));
                blocks.add(new TcpOption.SackBlock(0xfffffff0 + b, b * 16));
            }
            assertEquals(List.of(NOP, NOP, new TcpOption.Sack(blocks)), parse(hex.toString()).value());
            assertEquals(hex.toString(), emit(NOP, NOP, new TcpOption.Sack(blocks)));
        }
        assertThrows(IllegalArgumentException.class, () -> new TcpOption.Sack(List.of()));
    }

    @Test
    void emission_padsWithZerosToAWord_andThePaddingReadsBackAsEol() {
        assertEquals("020405b403030700", emit(new TcpOption.Mss(1460), new TcpOption.WindowScale(7)));
        assertEquals(List.of(new TcpOption.Mss(1460), new TcpOption.WindowScale(7), EOL),
                parse("020405b403030700").value());
        assertEquals(List.of(new TcpOption.Mss(1460), new TcpOption.WindowScale(7), EOL),
                TcpOptions.canonical(List.of(new TcpOption.Mss(1460), new TcpOption.WindowScale(7))));
        assertEquals(List.of(new TcpOption.Mss(1460)), TcpOptions.canonical(List.of(new TcpOption.Mss(1460))));
        assertEquals(List.of(NOP, EOL), TcpOptions.canonical(List.of(NOP, EOL, NOP)));
    }

    @Test
    void bytesAfterEol_arePadding() {
        assertEquals(List.of(new TcpOption.Mss(1460), EOL), parse("020405b400ffeedd").value());
    }

    @Test
    void emission_refusesMoreThanFortyBytes_withAClearError() {
        List<TcpOption> options = java.util.Collections.nCopies(41, NOP);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> emitted(out -> TcpOptions.emit(options, out)));
        assertTrue(e.getMessage().contains("41 bytes") && e.getMessage().contains("at most 40"), e.getMessage());
        assertEquals("01".repeat(40), emitted(out -> TcpOptions.emit(java.util.Collections.nCopies(40, NOP), out)));
    }

    @Test
    void emission_refusesOptionsAfterEol_andWritesNothing() {
        assertEquals("", emitted(out -> assertThrows(IllegalArgumentException.class,
                () -> TcpOptions.emit(List.of(EOL, new TcpOption.Mss(1)), out))));
    }

    @Test
    void malformedOptions_areTypedErrors() {
        assertEquals(ParseError.OPTION_BAD_LENGTH, parse("63000000").error());
        assertEquals(ParseError.OPTION_BAD_LENGTH, parse("63010000").error());
        assertEquals(ParseError.OPTION_BAD_LENGTH, parse("02010000").error(), "length checked before MSS's own rule");
        assertEquals(ParseError.OPTION_OVERRUN, parse("01010102").error(), "no room for the length byte");
        assertEquals(ParseError.OPTION_OVERRUN, parse("01010204").error());
        assertEquals(ParseError.OPTION_OVERRUN, parse("63280000").error());
        assertEquals(ParseError.OPTION_MSS_LENGTH, parse("02030501").error());
        assertEquals(ParseError.OPTION_MSS_LENGTH, parse("020605b400000101").error());
        assertEquals(ParseError.OPTION_MSS_LENGTH, parse("020505b400010101").error());
        assertEquals(ParseError.OPTION_WSCALE_LENGTH, parse("03020101").error());
        assertEquals(ParseError.OPTION_WSCALE_LENGTH, parse("03040700").error());
        assertEquals(ParseError.OPTION_SACK_PERMITTED_LENGTH, parse("04030001").error());
        assertEquals(ParseError.OPTION_TIMESTAMPS_LENGTH, parse("0808000000010000").error());
        assertEquals(ParseError.OPTION_TIMESTAMPS_LENGTH, parse("080c" + "00".repeat(10)).error());
        assertEquals(ParseError.OPTION_TIMESTAMPS_LENGTH, parse("0809" + "00".repeat(7) + "010101").error());
        assertEquals(ParseError.OPTION_TIMESTAMPS_LENGTH, parse("080b" + "00".repeat(9) + "01").error());
        assertEquals(ParseError.OPTION_SACK_LENGTH, parse("05020101").error());
        assertEquals(ParseError.OPTION_SACK_LENGTH, parse("050b" + "00".repeat(9) + "01").error());
        assertEquals(ParseError.OPTION_SACK_LENGTH, parse("0528" + "00".repeat(38)).error());
    }

    @Test
    void unknownKinds_areKeptAndReemittedUnchanged() {
        String hex = "130a0011223344556677" + "1c048258" + "6302";
        List<TcpOption> parsed = parse(hex).value();
        assertEquals(List.of(new TcpOption.Unknown(19, WireTesting.hex("0011223344556677")),
                new TcpOption.Unknown(28, WireTesting.hex("8258")), new TcpOption.Unknown(99, new byte[0])), parsed);
        assertEquals(hex, emitted(out -> TcpOptions.emit(parsed, out)));
    }

    @Test
    void unknown_refusesKindsThatHaveTheirOwnRecord() {
        for (int kind : new int[] {0, 1, 2, 3, 4, 5, 8}) {
            assertThrows(IllegalArgumentException.class, () -> new TcpOption.Unknown(kind, new byte[2]));
        }
        assertThrows(IllegalArgumentException.class, () -> new TcpOption.Unknown(253, WireTesting.hex("05ec00")));
        assertEquals(253, new TcpOption.Unknown(253, WireTesting.hex("454e")).kind());
    }

    @Test
    void parse_leavesIndexesAlone_andChecksItsRange() {
        withBytes("020405b4", buf -> {
            TcpOptions.parse(buf, 0, 4, TcpOptions.Codec.DEFAULT);
            assertEquals(0, buf.readerIndex());
            assertThrows(IndexOutOfBoundsException.class, () -> TcpOptions.parse(buf, 2, 4, TcpOptions.Codec.DEFAULT));
            return null;
        });
        // More than a header can hold: a caller's bug (an unknown option of length 41 would not even be representable).
        withBytes("6329" + "00".repeat(39), buf -> assertThrows(IllegalArgumentException.class,
                () -> TcpOptions.parse(buf, 0, 41, TcpOptions.Codec.DEFAULT)));
    }
}
