package io.opsec.stack.wire;

/**
 * Arithmetic on 32-bit TCP sequence numbers, modulo 2^32 (RFC 9293 §3.4).
 *
 * <p>Sequence numbers are carried as raw {@code int}s. Never compare them with {@code <}: a
 * comparison is the sign of their difference, which stays right across the wrap as long as
 * the two are less than 2^31 apart.
 */
public final class SeqNum {
    private SeqNum() {}

    /** {@code a} comes strictly before {@code b}. */
    public static boolean lt(int a, int b) {
        return a - b < 0;
    }

    /** {@code a} comes before or is {@code b}. */
    public static boolean le(int a, int b) {
        return a - b <= 0;
    }

    /** {@code a} comes strictly after {@code b}. */
    public static boolean gt(int a, int b) {
        return a - b > 0;
    }

    /** {@code a} comes after or is {@code b}. */
    public static boolean ge(int a, int b) {
        return a - b >= 0;
    }

    /** The later of the two. */
    public static int max(int a, int b) {
        return gt(a, b) ? a : b;
    }

    /** The earlier of the two. */
    public static int min(int a, int b) {
        return lt(a, b) ? a : b;
    }

    /** Bytes from {@code from} up to {@code to}; negative when {@code to} is before {@code from}. */
    public static int diff(int to, int from) {
        return to - from;
    }

    /** {@code start <= v < start + len}, modulo 2^32; {@code len} is unsigned. */
    public static boolean inWindow(int v, int start, long len) {
        return Integer.toUnsignedLong(v - start) < len;
    }

    /** {@code low <= v <= high}, modulo 2^32. */
    public static boolean between(int low, int v, int high) {
        return Integer.toUnsignedLong(v - low) <= Integer.toUnsignedLong(high - low);
    }

    /** The value as an unsigned decimal, for logs and traces. */
    public static String toString(int v) {
        return Integer.toUnsignedString(v);
    }
}
