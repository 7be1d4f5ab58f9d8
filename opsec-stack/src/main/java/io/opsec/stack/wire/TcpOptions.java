package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Parsing and emission of a TCP option list (RFC 9293 §3.1 and §3.2).
 *
 * <p>Parsing is strict about what would make the rest of the header ambiguous (an option of
 * length below 2, one that runs past the header, a known option with the wrong fixed length) and
 * returns a typed failure for it; RFC 9293 MUST-7 asks that an illegal length never crash the
 * receiver. Kinds it does not know are kept as {@link TcpOption.Unknown} and emitted unchanged.
 * Parsing stops at End of Option List; what follows it is padding.
 */
public final class TcpOptions {
    /** The largest option area: a 60-byte header less the 20 fixed bytes. */
    public static final int MAX_LENGTH = 40;

    private TcpOptions() {}

    /**
     * How to recognise the OPSEC option: the experimental framing (kind 253 with ExID 0x05EC) is
     * always recognised; {@code literalKind} adds the draft's literal framing on that kind, or is
     * -1 for none.
     */
    public record Codec(int literalKind) {
        /** Recognises only the default, experimental framing. */
        public static final Codec DEFAULT = new Codec(-1);

        public Codec {
            if (literalKind != -1 && (literalKind < 0 || literalKind > 255 || hasFixedMeaning(literalKind))) {
                throw new IllegalArgumentException("kind " + literalKind + " cannot carry the literal OPSEC framing");
            }
        }

        /** Recognises the literal framing on {@code kind} as well as the experimental one. */
        public static Codec literal(int kind) {
            return new Codec(kind);
        }
    }

    /**
     * Whether the parser gives {@code kind} a meaning of its own, whatever the codec: EOL, NOP,
     * MSS, window scale, SACK-permitted, SACK, timestamps and the two RFC 6994 experiment kinds
     * 253 and 254 (shared by ExID, so never a literal OPSEC kind).
     */
    static boolean hasFixedMeaning(int kind) {
        return switch (kind) {
            case TcpOption.KIND_EOL, TcpOption.KIND_NOP, TcpOption.KIND_MSS, TcpOption.KIND_WSCALE,
                    TcpOption.KIND_SACK_PERMITTED, TcpOption.KIND_SACK, TcpOption.KIND_TIMESTAMPS,
                    TcpOption.KIND_EXPERIMENT_1, TcpOption.KIND_EXPERIMENT_2 -> true;
            default -> false;
        };
    }

    /**
     * Parses {@code len} option bytes at absolute index {@code offset}. Never throws on the
     * content of the bytes: every malformed option is a typed {@link ParseResult.Err}.
     *
     * @param buf borrowed; indexes are not changed
     * @throws IndexOutOfBoundsException when {@code offset} and {@code len} do not lie within the
     *         buffer's capacity (a caller's bug, not bad input)
     * @throws IllegalArgumentException when {@code len} exceeds {@link #MAX_LENGTH}: no TCP header
     *         has a larger option area, so this too is a caller's bug
     */
    public static ParseResult<List<TcpOption>> parse(ByteBuf buf, int offset, int len, Codec codec) {
        java.util.Objects.checkFromIndexSize(offset, len, buf.capacity());
        if (len > MAX_LENGTH) {
            throw new IllegalArgumentException("an option area of " + len + " bytes; a TCP header holds at most "
                    + MAX_LENGTH);
        }
        if (len == 0) {
            return ParseResult.ok(List.of());
        }
        List<TcpOption> out = new ArrayList<>(4);
        int i = offset;
        int end = offset + len;
        while (i < end) {
            int kind = buf.getUnsignedByte(i);
            int at = i - offset;
            if (kind == TcpOption.KIND_EOL) {
                out.add(new TcpOption.Eol());
                break;
            }
            if (kind == TcpOption.KIND_NOP) {
                out.add(new TcpOption.Nop());
                i++;
                continue;
            }
            if (i + 1 >= end) {
                return ParseResult.err(ParseError.OPTION_OVERRUN, "kind " + kind + " at offset " + at + " has no length byte");
            }
            int olen = buf.getUnsignedByte(i + 1);
            if (olen < 2) {
                return ParseResult.err(ParseError.OPTION_BAD_LENGTH, "kind " + kind + " length " + olen + " at offset " + at);
            }
            if (i + olen > end) {
                return ParseResult.err(ParseError.OPTION_OVERRUN,
                        "kind " + kind + " length " + olen + " at offset " + at + " of " + len);
            }
            ParseResult<TcpOption> one = parseOne(buf, i, kind, olen, codec);
            if (one instanceof ParseResult.Err<TcpOption> err) {
                return err.cast();
            }
            out.add(one.value());
            i += olen;
        }
        return ParseResult.ok(Collections.unmodifiableList(out));
    }

    private static ParseResult<TcpOption> parseOne(ByteBuf buf, int i, int kind, int olen, Codec codec) {
        switch (kind) {
            case TcpOption.KIND_MSS:
                if (olen != 4) return ParseResult.err(ParseError.OPTION_MSS_LENGTH, "length " + olen);
                return ParseResult.ok(new TcpOption.Mss(buf.getUnsignedShort(i + 2)));
            case TcpOption.KIND_WSCALE:
                if (olen != 3) return ParseResult.err(ParseError.OPTION_WSCALE_LENGTH, "length " + olen);
                return ParseResult.ok(new TcpOption.WindowScale(buf.getUnsignedByte(i + 2)));
            case TcpOption.KIND_SACK_PERMITTED:
                if (olen != 2) return ParseResult.err(ParseError.OPTION_SACK_PERMITTED_LENGTH, "length " + olen);
                return ParseResult.ok(new TcpOption.SackPermitted());
            case TcpOption.KIND_TIMESTAMPS:
                if (olen != 10) return ParseResult.err(ParseError.OPTION_TIMESTAMPS_LENGTH, "length " + olen);
                return ParseResult.ok(new TcpOption.Timestamps(buf.getInt(i + 2), buf.getInt(i + 6)));
            case TcpOption.KIND_SACK: {
                int n = (olen - 2) / 8;
                if ((olen - 2) % 8 != 0 || n < 1 || n > 4) {
                    return ParseResult.err(ParseError.OPTION_SACK_LENGTH, "length " + olen);
                }
                List<TcpOption.SackBlock> blocks = new ArrayList<>(n);
                for (int b = 0; b < n; b++) {
                    blocks.add(new TcpOption.SackBlock(buf.getInt(i + 2 + 8 * b), buf.getInt(i + 6 + 8 * b)));
                }
                return ParseResult.ok(new TcpOption.Sack(blocks));
            }
            default:
                break;
        }
        byte[] data = new byte[olen - 2];
        buf.getBytes(i + 2, data);
        if ((kind == TcpOption.KIND_EXPERIMENT_1 || kind == TcpOption.KIND_EXPERIMENT_2) && olen >= 4
                && buf.getUnsignedShort(i + 2) == OpsecOption.EXID) {
            // RFC 6994: kinds 253/254 are shared; the 16-bit ExID says whose experiment it is.
            return ParseResult.ok(new OpsecOption(OpsecOption.Framing.EXPERIMENTAL, kind,
                    Arrays.copyOfRange(data, 2, data.length)));
        }
        if (kind == codec.literalKind()) {
            return ParseResult.ok(new OpsecOption(OpsecOption.Framing.LITERAL, kind, data));
        }
        return ParseResult.ok(new TcpOption.Unknown(kind, data));
    }

    /** Encoded length of a list, before padding. */
    public static int length(List<? extends TcpOption> options) {
        int n = 0;
        for (TcpOption o : options) {
            n += o.length();
        }
        return n;
    }

    /** Encoded length of a list padded to a multiple of four bytes. */
    public static int paddedLength(List<? extends TcpOption> options) {
        return (length(options) + 3) & ~3;
    }

    /**
     * The list that {@link #parse} returns for the bytes {@link #emit} writes for {@code options}:
     * the options up to and including the first End of Option List (nothing may follow it), and
     * an End of Option List appended when there is none and the options do not end on a 32-bit
     * boundary (the zero padding reads back as one). A canonical list emits and parses back to
     * itself; {@code parse(emit(h)) == h} holds for canonical headers.
     */
    public static List<TcpOption> canonical(List<? extends TcpOption> options) {
        List<TcpOption> out = new ArrayList<>(options.size() + 1);
        for (TcpOption o : options) {
            out.add(o);
            if (o instanceof TcpOption.Eol) {
                return List.copyOf(out);
            }
        }
        if (length(out) % 4 != 0) {
            out.add(new TcpOption.Eol());
        }
        return List.copyOf(out);
    }

    /**
     * Appends the options, then zero bytes (End of Option List, RFC 9293 §3.1) up to a 32-bit
     * boundary.
     *
     * @param out borrowed
     * @return the number of bytes written, a multiple of four
     * @throws IllegalArgumentException when the options need more than 40 bytes, or an option
     *         follows End of Option List (a receiver would read it as padding); nothing is written then
     */
    public static int emit(List<? extends TcpOption> options, ByteBuf out) {
        int len = checkEmittable(options);
        int padded = (len + 3) & ~3;
        for (TcpOption o : options) {
            o.emit(out);
        }
        out.writeZero(padded - len);
        return padded;
    }

    /** Throws as {@link #emit} would; returns the unpadded length. */
    static int checkEmittable(List<? extends TcpOption> options) {
        int len = length(options);
        if (len > MAX_LENGTH) {
            throw new IllegalArgumentException("TCP options need " + len + " bytes; the header holds at most "
                    + MAX_LENGTH + ": " + options);
        }
        int eol = indexOfEol(options);
        if (eol >= 0 && eol != options.size() - 1) {
            // RFC 9293 §3.1: End of Option List marks the end of all options; what follows is padding.
            throw new IllegalArgumentException("options follow End of Option List: " + options);
        }
        return len;
    }

    private static int indexOfEol(List<? extends TcpOption> options) {
        for (int i = 0; i < options.size(); i++) {
            if (options.get(i) instanceof TcpOption.Eol) {
                return i;
            }
        }
        return -1;
    }

    /** The first option of a type in the list, or {@code null}. */
    public static <T extends TcpOption> T find(List<? extends TcpOption> options, Class<T> type) {
        for (TcpOption o : options) {
            if (type.isInstance(o)) {
                return type.cast(o);
            }
        }
        return null;
    }
}
