package io.opsec.examples;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.util.HashMap;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Formats segments as a ladder diagram for people learning TCP: one line per segment, an arrow
 * from the sender's column to the receiver's, sequence and acknowledgment numbers relative to
 * each side's initial sequence number, the window, and every option decoded, with OPSEC options
 * labelled as proposal (SYN), selection (SYN-ACK) or echo (after the handshake).
 *
 * <p>Not thread-safe; one instance per conversation. Keeps the ISN of each direction it has seen.
 */
public final class Ladder {
    private final int leftAddress;
    private final Map<Long, Integer> isn = new HashMap<>();
    private final long startNanos;

    /**
     * @param leftAddress the host drawn in the left column (the other is on the right)
     * @param startNanos  the time shown as zero
     */
    public Ladder(int leftAddress, long startNanos) {
        this.leftAddress = leftAddress;
        this.startNanos = startNanos;
    }

    /** The two column headings. */
    public String header(String left, String right) {
        return String.format("%10s  %-34s %34s", "time (ms)", left, right);
    }

    /**
     * One line for an IPv4 packet seen at {@code nanos}; a packet that does not parse is shown as
     * such with the reason.
     *
     * @param packet borrowed; its indexes are not changed
     */
    public String line(ByteBuf packet, long nanos, TcpOptions.Codec codec) {
        ParseResult<TcpSegment> r = TcpSegment.parse(packet, codec);
        String time = String.format("%10.3f", (nanos - startNanos) / 1e6);
        if (!r.isOk()) {
            return time + "  (unparseable packet: " + r + ")";
        }
        TcpSegment seg = r.value();
        boolean fromLeft = seg.ip().source() == leftAddress;
        String body = describe(seg);
        if (fromLeft) {
            return time + "  " + body + " --->";
        }
        return time + "  <--- " + body;
    }

    /** The segment's description without arrows: flags, relative numbers, window, length, options. */
    public String describe(TcpSegment seg) {
        TcpHeader h = seg.tcp();
        long flow = flowKey(seg.ip().source(), h.sourcePort());
        long back = flowKey(seg.ip().destination(), h.destinationPort());
        if (h.has(TcpFlags.SYN)) {
            isn.put(flow, h.seq());
        }
        StringBuilder sb = new StringBuilder();
        sb.append(name(h.flags()));
        Integer mine = isn.get(flow);
        sb.append(" seq ").append(mine == null ? Integer.toUnsignedString(h.seq()) : Integer.toUnsignedString(h.seq() - mine));
        if (h.has(TcpFlags.ACK)) {
            Integer theirs = isn.get(back);
            sb.append(" ack ").append(theirs == null ? Integer.toUnsignedString(h.ack())
                    : Integer.toUnsignedString(h.ack() - theirs));
        }
        sb.append(" win ").append(h.window());
        if (seg.payloadLength() > 0) {
            sb.append(" len ").append(seg.payloadLength());
        }
        if (!h.options().isEmpty()) {
            StringJoiner j = new StringJoiner(", ", " <", ">");
            for (TcpOption o : h.options()) {
                if (o instanceof TcpOption.Eol) {
                    continue;
                }
                j.add(option(o, h.flags(), isn.get(back)));
            }
            sb.append(j);
        }
        return sb.toString();
    }

    private static String option(TcpOption o, int flags, Integer peerIsn) {
        if (o instanceof TcpOption.Sack sack && peerIsn != null) {
            // SACK blocks name the peer's sequence space: show them relative to its ISN too.
            StringJoiner j = new StringJoiner(" ", "sack ", "");
            for (TcpOption.SackBlock b : sack.blocks()) {
                j.add(Integer.toUnsignedString(b.left() - peerIsn) + "-" + Integer.toUnsignedString(b.right() - peerIsn));
            }
            return j.toString();
        }
        if (o instanceof OpsecOption op) {
            String role = (flags & TcpFlags.SYN) != 0
                    ? ((flags & TcpFlags.ACK) != 0 ? "selection" : "proposal") : "echo";
            return "OPSEC " + role + " " + op.toString().substring("opsec ".length());
        }
        if (o instanceof TcpOption.Timestamps ts) {
            return "TS " + Integer.toUnsignedString(ts.tsVal()) + "/" + Integer.toUnsignedString(ts.tsEcr());
        }
        return o.toString();
    }

    private static String name(int flags) {
        int f = flags & (TcpFlags.SYN | TcpFlags.ACK | TcpFlags.FIN | TcpFlags.RST | TcpFlags.PSH);
        if (f == (TcpFlags.SYN | TcpFlags.ACK)) {
            return "SYN-ACK";
        }
        return TcpFlags.names(flags).replace(',', '+');
    }

    private static long flowKey(int address, int port) {
        return ((long) address << 16) | port;
    }

    /** "198.18.0.1:49152". */
    public static String endpoint(int address, int port) {
        return Ipv4Address.format(address) + ":" + port;
    }
}
