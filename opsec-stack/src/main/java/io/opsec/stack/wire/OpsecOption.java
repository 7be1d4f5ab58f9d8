package io.opsec.stack.wire;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The TCP OPSEC option (draft-paddon-tcp-opsec-01 §3.1): an ordered list of one-byte security
 * protocol identifiers, most preferred first.
 *
 * <p>No option kind was ever assigned, so two framings exist (reading notes, decision 1):
 * <ul>
 *   <li>{@link Framing#EXPERIMENTAL} (the default): kind 253 with the RFC 6994 experiment id
 *       {@code 0x05EC}: {@code 253 | len | 0x05 0xEC | ids...};</li>
 *   <li>{@link Framing#LITERAL}: the draft's own layout {@code kind | len | ids...} with a kind
 *       chosen by configuration.</li>
 * </ul>
 * An option with no ids is representable (so a hostile one can be parsed, counted and answered)
 * but not {@linkplain #isValid() valid}: the draft requires at least one.
 *
 * @param framing   how the option is framed
 * @param kind      the option kind byte (253 for the experimental framing)
 * @param protocols the protocol ids in order, each 0..255
 */
public record OpsecOption(Framing framing, int kind, byte[] protocols) implements TcpOption {

    /** The RFC 6994 experiment id the project uses for OPSEC. */
    public static final int EXID = 0x05EC;

    /** The protocol id of TLS (draft §4). */
    public static final int PROTOCOL_TLS = 0;

    /** The two framings of the option. */
    public enum Framing { EXPERIMENTAL, LITERAL }

    public OpsecOption {
        protocols = protocols.clone();
        if (framing == Framing.EXPERIMENTAL && kind != KIND_EXPERIMENT_1 && kind != KIND_EXPERIMENT_2) {
            throw new IllegalArgumentException("the experimental framing uses kind 253 or 254, not " + kind);
        }
        if (kind < 2 || kind > 255) {
            throw new IllegalArgumentException("OPSEC kind " + kind + " out of 2..255");
        }
        if (framing == Framing.LITERAL && TcpOptions.hasFixedMeaning(kind)) {
            // A receiver would read these kinds as something else (253/254 are shared by ExID, RFC 6994).
            throw new IllegalArgumentException("kind " + kind + " cannot carry the literal OPSEC framing");
        }
        int max = 40 - (framing == Framing.EXPERIMENTAL ? 4 : 2);
        if (protocols.length > max) {
            throw new IllegalArgumentException(protocols.length + " protocol ids do not fit in 40 bytes");
        }
    }

    /** The default framing (kind 253, ExID 0x05EC) with these ids. */
    public static OpsecOption experimental(int... protocols) {
        return new OpsecOption(Framing.EXPERIMENTAL, KIND_EXPERIMENT_1, toBytes(protocols));
    }

    /** The draft's literal framing with a configured kind. */
    public static OpsecOption literal(int kind, int... protocols) {
        return new OpsecOption(Framing.LITERAL, kind, toBytes(protocols));
    }

    /** The same framing and kind with other ids (a selection or an echo). */
    public OpsecOption withProtocols(int... ids) {
        return new OpsecOption(framing, kind, toBytes(ids));
    }

    private static byte[] toBytes(int[] ids) {
        byte[] b = new byte[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] > 255) {
                throw new IllegalArgumentException("protocol id " + ids[i] + " out of 0..255");
            }
            b[i] = (byte) ids[i];
        }
        return b;
    }

    /** The ids as unsigned ints, in order. */
    public int[] protocolIds() {
        int[] ids = new int[protocols.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = protocols[i] & 0xFF;
        }
        return ids;
    }

    @Override
    public byte[] protocols() {
        return protocols.clone();
    }

    /** Number of ids carried. */
    public int count() {
        return protocols.length;
    }

    /** At least one id: draft §3.1 "MUST contain at least one". */
    public boolean isValid() {
        return protocols.length > 0;
    }

    /** Whether the list holds this id. */
    public boolean contains(int id) {
        for (byte p : protocols) {
            if ((p & 0xFF) == id) {
                return true;
            }
        }
        return false;
    }

    @Override
    public int length() {
        return (framing == Framing.EXPERIMENTAL ? 4 : 2) + protocols.length;
    }

    @Override
    public void emit(ByteBuf out) {
        out.writeByte(kind).writeByte(length());
        if (framing == Framing.EXPERIMENTAL) {
            out.writeShort(EXID);
        }
        out.writeBytes(protocols);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OpsecOption other && other.framing == framing && other.kind == kind
                && Arrays.equals(other.protocols, protocols);
    }

    @Override
    public int hashCode() {
        return (framing.hashCode() * 31 + kind) * 31 + Arrays.hashCode(protocols);
    }

    @Override
    public String toString() {
        String ids = IntStream.of(protocolIds()).mapToObj(OpsecOption::protocolName).collect(Collectors.joining(","));
        return "opsec [" + ids + "]" + (framing == Framing.LITERAL ? " (kind " + kind + ")" : "");
    }

    /** A readable name for a protocol id ("tls" for 0). */
    public static String protocolName(int id) {
        return id == PROTOCOL_TLS ? "tls" : Integer.toString(id);
    }
}
