package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import java.util.HexFormat;

/**
 * A 48-bit Ethernet (IEEE 802) address, held in the low 48 bits of a long.
 *
 * @param bits the address, most significant octet first ({@code 02:00:00:00:00:01} is {@code 0x020000000001L})
 */
public record MacAddress(long bits) {

    /** {@code ff:ff:ff:ff:ff:ff}. */
    public static final MacAddress BROADCAST = new MacAddress(0xFFFF_FFFF_FFFFL);

    public MacAddress {
        if ((bits & ~0xFFFF_FFFF_FFFFL) != 0) {
            throw new IllegalArgumentException("not a 48-bit address: 0x" + Long.toHexString(bits));
        }
    }

    /** Parses six colon-separated hex octets ({@code 52:54:00:12:34:56}). */
    public static MacAddress parse(String text) {
        String[] octets = text.split(":");
        if (octets.length != 6) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long bits = 0;
        for (String o : octets) {
            if (o.length() != 2) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            bits = (bits << 8) | HexFormat.fromHexDigits(o);
        }
        return new MacAddress(bits);
    }

    /** Reads six octets at absolute {@code index} (the reader index does not move). */
    public static MacAddress read(ByteBuf buf, int index) {
        return new MacAddress(((long) buf.getUnsignedShort(index) << 32) | buf.getUnsignedInt(index + 2));
    }

    /** Appends the six octets at the writer index. */
    public void write(ByteBuf buf) {
        buf.writeShort((int) (bits >>> 32));
        buf.writeInt((int) bits);
    }

    /** Group addresses (broadcast and multicast) have the least significant bit of the first octet set. */
    public boolean isGroup() {
        return (bits & 0x0100_0000_0000L) != 0;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        for (int shift = 40; shift >= 0; shift -= 8) {
            if (sb.length() > 0) {
                sb.append(':');
            }
            sb.append(HexFormat.of().toHexDigits((byte) (bits >>> shift)));
        }
        return sb.toString();
    }
}
