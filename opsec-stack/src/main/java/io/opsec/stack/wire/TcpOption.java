package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One TCP option (RFC 9293 §3.1, RFC 7323, RFC 2018, RFC 6994 and the OPSEC draft). Every option
 * knows its encoded length and how to write itself; parsing lives in {@link TcpOptions}.
 */
public sealed interface TcpOption permits TcpOption.Eol, TcpOption.Nop, TcpOption.Mss, TcpOption.WindowScale,
        TcpOption.SackPermitted, TcpOption.Sack, TcpOption.Timestamps, TcpOption.Unknown, OpsecOption {
    int KIND_EOL = 0, KIND_NOP = 1, KIND_MSS = 2, KIND_WSCALE = 3, KIND_SACK_PERMITTED = 4,
            KIND_SACK = 5, KIND_TIMESTAMPS = 8, KIND_EXPERIMENT_1 = 253, KIND_EXPERIMENT_2 = 254;

    /** The option kind byte. */
    int kind();

    /** Encoded length in bytes, including kind and length bytes where present. */
    int length();

    /**
     * Appends the encoded option at the writer index.
     *
     * @param out borrowed
     */
    void emit(ByteBuf out);

    /** End of option list (kind 0): one byte; what follows it in the header is padding. */
    record Eol() implements TcpOption {
        public int kind() { return KIND_EOL; }
        public int length() { return 1; }
        public void emit(ByteBuf out) { out.writeByte(KIND_EOL); }
        @Override public String toString() { return "eol"; }
    }

    /** No operation (kind 1): one byte, used for alignment. */
    record Nop() implements TcpOption {
        public int kind() { return KIND_NOP; }
        public int length() { return 1; }
        public void emit(ByteBuf out) { out.writeByte(KIND_NOP); }
        @Override public String toString() { return "nop"; }
    }

    /** Maximum segment size (kind 2, length 4; RFC 9293 §3.7.1). */
    record Mss(int mss) implements TcpOption {
        public Mss {
            if (mss < 0 || mss > 0xFFFF) throw new IllegalArgumentException("MSS " + mss + " out of 0..65535");
        }
        public int kind() { return KIND_MSS; }
        public int length() { return 4; }
        public void emit(ByteBuf out) { out.writeByte(KIND_MSS).writeByte(4).writeShort(mss); }
        @Override public String toString() { return "mss " + mss; }
    }

    /** Window scale (kind 3, length 3; RFC 7323 §2). Shifts above 14 are kept as sent; the TCP layer clamps them. */
    record WindowScale(int shift) implements TcpOption {
        public WindowScale {
            if (shift < 0 || shift > 255) throw new IllegalArgumentException("window scale " + shift + " out of 0..255");
        }
        public int kind() { return KIND_WSCALE; }
        public int length() { return 3; }
        public void emit(ByteBuf out) { out.writeByte(KIND_WSCALE).writeByte(3).writeByte(shift); }
        @Override public String toString() { return "wscale " + shift; }
    }

    /** SACK permitted (kind 4, length 2; RFC 2018 §2). */
    record SackPermitted() implements TcpOption {
        public int kind() { return KIND_SACK_PERMITTED; }
        public int length() { return 2; }
        public void emit(ByteBuf out) { out.writeByte(KIND_SACK_PERMITTED).writeByte(2); }
        @Override public String toString() { return "sackOK"; }
    }

    /** One SACK block: the bytes from {@code left} up to (not including) {@code right}. */
    record SackBlock(int left, int right) {
        @Override public String toString() { return SeqNum.toString(left) + ":" + SeqNum.toString(right); }
    }

    /** SACK blocks (kind 5, length 2 + 8n, n from 1 to 4; RFC 2018 §3). */
    record Sack(List<SackBlock> blocks) implements TcpOption {
        public Sack {
            blocks = List.copyOf(blocks);
            if (blocks.isEmpty() || blocks.size() > 4) {
                throw new IllegalArgumentException("a SACK option holds 1 to 4 blocks, not " + blocks.size());
            }
        }
        public int kind() { return KIND_SACK; }
        public int length() { return 2 + 8 * blocks.size(); }
        public void emit(ByteBuf out) {
            out.writeByte(KIND_SACK).writeByte(length());
            for (SackBlock b : blocks) {
                out.writeInt(b.left()).writeInt(b.right());
            }
        }
        @Override public String toString() { return "sack " + blocks; }
    }

    /** Timestamps (kind 8, length 10; RFC 7323 §3). Values are raw 32-bit clocks. */
    record Timestamps(int tsVal, int tsEcr) implements TcpOption {
        public int kind() { return KIND_TIMESTAMPS; }
        public int length() { return 10; }
        public void emit(ByteBuf out) { out.writeByte(KIND_TIMESTAMPS).writeByte(10).writeInt(tsVal).writeInt(tsEcr); }
        @Override public String toString() {
            return "TS val " + Integer.toUnsignedString(tsVal) + " ecr " + Integer.toUnsignedString(tsEcr);
        }
    }

    /**
     * An option this stack does not interpret, kept so it can be logged and re-emitted unchanged.
     * Includes kind 253/254 options whose experiment id is not OPSEC's, and the literal OPSEC
     * kind when the codec does not recognise it. Kinds with a record of their own (MSS, window
     * scale, SACK-permitted, SACK, timestamps) and kind 253/254 data carrying OPSEC's ExID are
     * refused, so that every value emits bytes that parse back to it.
     *
     * @param kind the kind byte
     * @param data the bytes after the length byte
     */
    record Unknown(int kind, byte[] data) implements TcpOption {
        public Unknown {
            if (kind < 2 || kind > 255) throw new IllegalArgumentException("kind " + kind + " is not a length-carrying option");
            if (kind == KIND_MSS || kind == KIND_WSCALE || kind == KIND_SACK_PERMITTED || kind == KIND_SACK
                    || kind == KIND_TIMESTAMPS) {
                throw new IllegalArgumentException("kind " + kind + " has its own option record");
            }
            data = data.clone();
            if ((kind == KIND_EXPERIMENT_1 || kind == KIND_EXPERIMENT_2) && data.length >= 2
                    && (((data[0] & 0xFF) << 8) | (data[1] & 0xFF)) == OpsecOption.EXID) {
                throw new IllegalArgumentException("kind " + kind + " with ExID 0x05EC is the OPSEC option");
            }
            if (data.length > 38) throw new IllegalArgumentException("option data of " + data.length + " bytes cannot fit");
        }
        public int length() { return 2 + data.length; }
        public void emit(ByteBuf out) { out.writeByte(kind).writeByte(length()).writeBytes(data); }
        @Override public byte[] data() { return data.clone(); }
        @Override public boolean equals(Object o) {
            return o instanceof Unknown u && u.kind == kind && Arrays.equals(u.data, data);
        }
        @Override public int hashCode() { return 31 * kind + Arrays.hashCode(data); }
        @Override public String toString() { return "kind " + kind + " [" + HexFormat.of().formatHex(data) + "]"; }
    }

    /** The OPSEC option: see {@link OpsecOption}. */
    static OpsecOption opsec(int... protocols) {
        return OpsecOption.experimental(protocols);
    }
}
