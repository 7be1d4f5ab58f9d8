package io.opsec.stack.wire;

/** The eight TCP control bits (RFC 9293 §3.1, RFC 3168 for ECE and CWR) as an {@code int} mask. */
public final class TcpFlags {
    public static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20,
            ECE = 0x40, CWR = 0x80;

    private TcpFlags() {}

    public static boolean has(int flags, int bit) {
        return (flags & bit) != 0;
    }

    /** tcpdump's spelling: {@code S.} for SYN-ACK, {@code .} for a bare ACK, {@code P.}, {@code F.}, {@code R}. */
    public static String format(int flags) {
        StringBuilder sb = new StringBuilder(8);
        if (has(flags, SYN)) sb.append('S');
        if (has(flags, FIN)) sb.append('F');
        if (has(flags, RST)) sb.append('R');
        if (has(flags, PSH)) sb.append('P');
        if (has(flags, URG)) sb.append('U');
        if (has(flags, ECE)) sb.append('E');
        if (has(flags, CWR)) sb.append('W');
        if (has(flags, ACK)) sb.append('.');
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /** The names in RFC order, for humans: {@code SYN,ACK}. */
    public static String names(int flags) {
        String[] n = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < 8; b++) {
            if ((flags & (1 << b)) != 0) {
                if (sb.length() > 0) sb.append(',');
                sb.append(n[b]);
            }
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }
}
