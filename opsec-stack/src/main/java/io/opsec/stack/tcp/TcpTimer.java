package io.opsec.stack.tcp;

/**
 * The timers of one connection, as data (no scheduled executors): each is a deadline in the
 * caller's nanoseconds or unset. {@link TcpConnection#pollAt()} is the earliest of them.
 */
enum TcpTimer {
    /** RFC 6298 retransmission timer; also times the SYN and SYN-ACK. */
    RETRANSMIT,
    /** RFC 8985 §6.2 step 5 RACK reordering timer: when the next unSACKed segment's time is up. */
    REORDER,
    /** RFC 8985 §7.2 TLP probe timeout (PTO): a tail loss probe if no ACK comes first. */
    PROBE,
    /** RFC 9293 §3.8.6.1 zero-window probe (persist) timer. */
    PERSIST,
    /** RFC 9293 §3.8.6.3 delayed ACK. */
    DELAYED_ACK,
    /** RFC 9293 §3.8.4 keepalive (idle, then probe interval). */
    KEEPALIVE,
    /** RFC 9293 §3.3.2 TIME-WAIT, 2 x MSL. */
    TIME_WAIT,
    /** FIN-WAIT-2 lifetime after a full close (Linux tcp_fin_timeout). */
    FIN_WAIT_2;

    static final int COUNT = values().length;

    /** A set of deadlines, one per timer; {@link Long#MAX_VALUE} means unset. */
    static final class Deadlines {
        private final long[] at = new long[COUNT];

        Deadlines() {
            java.util.Arrays.fill(at, Long.MAX_VALUE);
        }

        void set(TcpTimer t, long when) {
            at[t.ordinal()] = when;
        }

        void clear(TcpTimer t) {
            at[t.ordinal()] = Long.MAX_VALUE;
        }

        void clearAll() {
            java.util.Arrays.fill(at, Long.MAX_VALUE);
        }

        boolean armed(TcpTimer t) {
            return at[t.ordinal()] != Long.MAX_VALUE;
        }

        long at(TcpTimer t) {
            return at[t.ordinal()];
        }

        /** Armed and due at {@code now}. */
        boolean due(TcpTimer t, long now) {
            long v = at[t.ordinal()];
            return v != Long.MAX_VALUE && v - now <= 0;
        }

        long earliest() {
            long m = Long.MAX_VALUE;
            for (long v : at) {
                if (v < m) {
                    m = v;
                }
            }
            return m;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("{");
            for (TcpTimer t : values()) {
                if (armed(t)) {
                    sb.append(sb.length() > 1 ? ", " : "").append(t).append('@').append(at(t));
                }
            }
            return sb.append('}').toString();
        }
    }
}
