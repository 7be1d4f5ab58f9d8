package io.opsec.stack.tcp;

/**
 * SYN cookies (RFC 4987 §3.6): the ISN of a SYN-ACK that a listener sends without keeping any
 * state, from which the returning ACK (its SEG.ACK - 1) proves that the peer received that SYN-ACK
 * and recovers what the SYN negotiated. Pure: no clock (time is an argument), no state but the keys.
 *
 * <p>The 32 bits, before whitening:
 * <pre>
 *   31      time slot parity (slots of 64 s, RFC 4987 §3.6; a cookie lives 64 to 128 s)
 *   30-29   MSS index into {@link #MSS_TABLE} (Linux's IPv4 table)
 *   28      timestamps: the SYN-ACK carried them, so window scale and SACK-permitted ride in the
 *           low bits of its TSval and come back in the ACK's TSecr ({@link #tsOptions})
 *   27-24   the handshake extension's state (OPSEC: its selection), 0..15
 *   23-0    MAC: SipHash-2-4 over the 4-tuple, the peer's ISN, the full slot number and bits 31-24
 * </pre>
 * The whole is XORed with a second keyed hash of the 4-tuple and the peer's ISN, so the clear bits
 * (slot parity, MSS, extension state) do not show on the wire. A blind forger hits a valid cookie
 * for a given 4-tuple with probability 2^-24 per guess (Linux's cookies give about 2^-22).
 */
final class SynCookies {
    /** RFC 4987 §3.6: "t is a 64-second counter". */
    static final long SLOT_NANOS = 64_000_000_000L;
    /** Linux's IPv4 MSS table (net/ipv4/syncookies.c): the peer's MSS is rounded down to one of these. */
    static final int[] MSS_TABLE = {536, 1300, 1440, 1460};
    /** How many extension states a cookie carries (4 bits). */
    static final int EXTENSION_STATES = 16;
    /** Low TSval bits that carry the options: window scale (4 bits, 15 = none) and SACK-permitted (1). */
    static final int TS_OPTION_BITS = 5;
    private static final int NO_WSCALE = 0xF;

    /** What a valid cookie says about the SYN it answered. */
    record Decoded(int mss, boolean timestamps, int extensionState) {}

    private final long macK0, macK1, whiteK0, whiteK1;

    /** @param secret the endpoint's 32-byte secret; the cookie keys are derived from it, apart from the ISN keys */
    SynCookies(byte[] secret) {
        long k0 = IsnGenerator.le64(secret, 0), k1 = IsnGenerator.le64(secret, 8);
        long k2 = IsnGenerator.le64(secret, 16), k3 = IsnGenerator.le64(secret, 24);
        // Domain separation: "syncook1".."syncook4" hashed under the secret's two halves.
        macK0 = IsnGenerator.SipHash.hash(k0, k1, 0x73796e636f6f6b31L, 1);
        macK1 = IsnGenerator.SipHash.hash(k2, k3, 0x73796e636f6f6b32L, 2);
        whiteK0 = IsnGenerator.SipHash.hash(k0, k1, 0x73796e636f6f6b33L, 3);
        whiteK1 = IsnGenerator.SipHash.hash(k2, k3, 0x73796e636f6f6b34L, 4);
    }

    /** The index of the largest table entry not above {@code peerMss}, or -1 when it is below 536. */
    static int mssIndex(int peerMss) {
        for (int i = MSS_TABLE.length - 1; i >= 0; i--) {
            if (peerMss >= MSS_TABLE[i]) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The cookie for a SYN.
     *
     * @param peerIsn        the SYN's sequence number
     * @param mssIndex       from {@link #mssIndex}
     * @param timestamps     whether the SYN-ACK carries timestamps
     * @param extensionState 0..15
     */
    int encode(int localAddr, int localPort, int remoteAddr, int remotePort, int peerIsn, long now, int mssIndex,
               boolean timestamps, int extensionState) {
        if (mssIndex < 0 || mssIndex >= MSS_TABLE.length || extensionState < 0 || extensionState >= EXTENSION_STATES) {
            throw new IllegalArgumentException("MSS index " + mssIndex + ", extension state " + extensionState);
        }
        long slot = Math.floorDiv(now, SLOT_NANOS);
        int top = (int) (slot & 1) << 7 | mssIndex << 5 | (timestamps ? 1 : 0) << 4 | extensionState;
        int plain = top << 24 | mac(localAddr, localPort, remoteAddr, remotePort, peerIsn, slot, top);
        return plain ^ whitening(localAddr, localPort, remoteAddr, remotePort, peerIsn);
    }

    /**
     * Checks a cookie returned in an ACK (SEG.ACK - 1, with SEG.SEQ - 1 as the peer's ISN).
     *
     * @return what the cookie encodes, or {@code null} when it is not one this endpoint made for this
     *         4-tuple and ISN in the current or the previous 64-second slot
     */
    Decoded decode(int localAddr, int localPort, int remoteAddr, int remotePort, int peerIsn, int cookie, long now) {
        int plain = cookie ^ whitening(localAddr, localPort, remoteAddr, remotePort, peerIsn);
        int top = plain >>> 24;
        long slot = Math.floorDiv(now, SLOT_NANOS);
        if ((slot & 1) != top >>> 7) {
            slot--; // the previous slot; older ones share the current parity and fail the MAC
        }
        if ((plain & 0xFFFFFF) != mac(localAddr, localPort, remoteAddr, remotePort, peerIsn, slot, top)) {
            return null;
        }
        return new Decoded(MSS_TABLE[top >>> 5 & 3], (top & 0x10) != 0, top & 0xF);
    }

    private int mac(int localAddr, int localPort, int remoteAddr, int remotePort, int peerIsn, long slot, int top) {
        long h = IsnGenerator.SipHash.hash(macK0, macK1, new long[] {tuple(localAddr, remoteAddr),
                ports(localPort, remotePort, peerIsn), slot << 8 | top});
        return (int) h & 0xFFFFFF;
    }

    private int whitening(int localAddr, int localPort, int remoteAddr, int remotePort, int peerIsn) {
        return (int) IsnGenerator.SipHash.hash(whiteK0, whiteK1, tuple(localAddr, remoteAddr),
                ports(localPort, remotePort, peerIsn));
    }

    private static long tuple(int localAddr, int remoteAddr) {
        return (long) localAddr << 32 | (remoteAddr & 0xFFFFFFFFL);
    }

    private static long ports(int localPort, int remotePort, int peerIsn) {
        return (long) localPort << 48 | (long) remotePort << 32 | (peerIsn & 0xFFFFFFFFL);
    }

    /**
     * The low {@link #TS_OPTION_BITS} of the SYN-ACK's TSval: the peer's window shift (15 when window
     * scaling is off) and whether SACK is on. Linux does the same (cookie_init_timestamp), so a
     * cookie connection keeps both options when the peer sends timestamps.
     */
    static int tsOptions(int peerWscale, boolean sack) {
        return (peerWscale < 0 ? NO_WSCALE : Math.min(peerWscale, 14)) | (sack ? 1 << 4 : 0);
    }

    /**
     * A TSval that carries {@code options} in its low bits and is not later than {@code tsNow}, so the
     * peer never sees our clock run backwards (as Linux, which subtracts one step when it would).
     */
    static int tsValue(int tsNow, int options) {
        int v = tsNow & -(1 << TS_OPTION_BITS) | options;
        return v - tsNow > 0 ? v - (1 << TS_OPTION_BITS) : v;
    }

    /** The peer's window shift from an echoed TSval, or -1 when window scaling is off. */
    static int peerWscale(int tsEcr) {
        int w = tsEcr & NO_WSCALE;
        return w == NO_WSCALE ? -1 : w;
    }

    /** Whether SACK is on, from an echoed TSval. */
    static boolean sack(int tsEcr) {
        return (tsEcr & 1 << 4) != 0;
    }
}
