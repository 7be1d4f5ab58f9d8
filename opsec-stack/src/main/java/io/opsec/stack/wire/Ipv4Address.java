package io.opsec.stack.wire;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** IPv4 addresses as 32-bit {@code int}s in network order, and their conversions. */
public final class Ipv4Address {
    private Ipv4Address() {}

    /**
     * Parses a dotted quad such as {@code "198.18.0.1"}.
     *
     * @throws IllegalArgumentException naming the text when it is not a dotted quad
     */
    public static int parse(String dotted) {
        String[] parts = dotted.trim().split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: '" + dotted + "'");
        }
        int v = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 address: '" + dotted + "'");
            }
            int octet = Integer.parseInt(p);
            if (octet > 255) {
                throw new IllegalArgumentException("not an IPv4 address: '" + dotted + "'");
            }
            v = (v << 8) | octet;
        }
        return v;
    }

    /** The dotted quad of an address. */
    public static String format(int addr) {
        return (addr >>> 24) + "." + ((addr >>> 16) & 0xFF) + "." + ((addr >>> 8) & 0xFF) + "." + (addr & 0xFF);
    }

    /** The address as a JDK {@link Inet4Address}. */
    public static Inet4Address toInet(int addr) {
        byte[] b = {(byte) (addr >>> 24), (byte) (addr >>> 16), (byte) (addr >>> 8), (byte) addr};
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are always an address", e);
        }
    }

    /**
     * The address of a JDK {@link InetAddress}.
     *
     * @throws IllegalArgumentException when it is not IPv4
     */
    public static int of(InetAddress address) {
        if (!(address instanceof Inet4Address)) {
            throw new IllegalArgumentException("not an IPv4 address: " + address);
        }
        byte[] b = address.getAddress();
        return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    /** In 224.0.0.0/4, multicast (RFC 5771). */
    public static boolean isMulticast(int addr) {
        return (addr >>> 28) == 0xE;
    }

    /**
     * Whether the address can name one remote host: not the limited broadcast 255.255.255.255,
     * not multicast, not in 0.0.0.0/8 ("this host on this network", only ever a source while a
     * host learns its address) (RFC 1122 §3.2.1.3). A directed broadcast needs the subnet's
     * prefix, which only the caller knows.
     */
    public static boolean isSingleHost(int addr) {
        return addr != 0xFFFFFFFF && !isMulticast(addr) && (addr >>> 24) != 0;
    }
}
