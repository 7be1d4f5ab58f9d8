package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.Ipv4Header;
import io.opsec.stack.wire.Ipv4Packet;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntUnaryOperator;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ready-made {@link Middlebox}es that tamper with TCP the way real ones do: strip an option,
 * rewrite the OPSEC protocol ids, duplicate an option, drop SYNs that carry options they do not
 * know. Each re-emits a changed packet through {@code io.opsec.stack.wire} with both checksums
 * recomputed, and passes anything it does not change <em>untouched</em>, the same buffer:
 * packets that are not TCP, are fragments, fail to parse, or fail their checksums (a middlebox
 * must not launder a corrupted packet into a valid one).
 *
 * <p>Which segments are touched is a {@code Predicate<TcpSegment>}: {@link #all()}, {@link #syn()},
 * {@link #synAck()}, {@link #handshakeAck()}, or any other. A rewritten packet keeps its IPv4 TOS,
 * identification, flags, TTL and addresses; IPv4 options, which the stack never sends, are not
 * carried over.
 */
public final class Middleboxes {

    private static final Logger LOG = LoggerFactory.getLogger(Middleboxes.class);

    /** The option kinds of RFC 9293, RFC 7323 and RFC 2018: what an "old" middlebox knows. */
    public static final Set<Integer> STANDARD_OPTION_KINDS = Set.of(TcpOption.KIND_EOL, TcpOption.KIND_NOP,
            TcpOption.KIND_MSS, TcpOption.KIND_WSCALE, TcpOption.KIND_SACK_PERMITTED, TcpOption.KIND_SACK,
            TcpOption.KIND_TIMESTAMPS);

    private Middleboxes() {
    }

    /** Every TCP segment. */
    public static Predicate<TcpSegment> all() {
        return seg -> true;
    }

    /** An initial SYN: SYN set, ACK clear. */
    public static Predicate<TcpSegment> syn() {
        return seg -> seg.tcp().has(TcpFlags.SYN) && !seg.tcp().has(TcpFlags.ACK);
    }

    /** A SYN-ACK. */
    public static Predicate<TcpSegment> synAck() {
        return seg -> seg.tcp().has(TcpFlags.SYN) && seg.tcp().has(TcpFlags.ACK);
    }

    /**
     * The third segment of a three-way handshake: the first non-SYN segment with ACK whose
     * sequence number is the ISN + 1 of a SYN seen earlier on the same connection in the same
     * direction. Stateful (it remembers up to 4096 open handshakes), so use a fresh one per
     * middlebox, and put the middlebox on the direction the active opener sends on.
     */
    public static Predicate<TcpSegment> handshakeAck() {
        Map<Flow, Integer> pending = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Flow, Integer> eldest) {
                return size() > 4096;
            }
        };
        return seg -> {
            TcpHeader tcp = seg.tcp();
            Flow key = new Flow(seg.ip().source(), tcp.sourcePort(), seg.ip().destination(), tcp.destinationPort());
            if (tcp.has(TcpFlags.SYN)) {
                if (!tcp.has(TcpFlags.ACK)) {
                    pending.put(key, tcp.seq());
                }
                return false;
            }
            Integer iss = pending.get(key);
            if (iss != null && tcp.has(TcpFlags.ACK) && tcp.seq() == iss + 1) {
                pending.remove(key);
                return true;
            }
            return false;
        };
    }

    private record Flow(int source, int sourcePort, int destination, int destinationPort) {
    }

    /** Removes every option of {@code kind} from the matching segments (e.g. 253 for OPSEC's framing). */
    public static Middlebox stripOption(int kind, Predicate<TcpSegment> which) {
        return stripOptions(o -> o.kind() == kind, which, TcpOptions.Codec.DEFAULT);
    }

    /** Removes the OPSEC option, in either framing that {@code codec} recognises, from the matching segments. */
    public static Middlebox stripOpsec(Predicate<TcpSegment> which, TcpOptions.Codec codec) {
        return stripOptions(o -> o instanceof OpsecOption, which, codec);
    }

    /** Removes every option {@code option} accepts from the matching segments. */
    public static Middlebox stripOptions(Predicate<TcpOption> option, Predicate<TcpSegment> which,
                                         TcpOptions.Codec codec) {
        Objects.requireNonNull(option);
        return rewrite(which, codec, h -> {
            List<TcpOption> kept = new ArrayList<>(h.options().size());
            for (TcpOption o : h.options()) {
                if (!option.test(o)) {
                    kept.add(o);
                }
            }
            return h.withOptions(kept);
        });
    }

    /**
     * Rewrites the protocol ids of every OPSEC option in the matching segments: each id goes
     * through {@code map}, and an id mapped to a negative value is removed (which may leave an
     * option with no ids, as a hostile box might).
     */
    public static Middlebox rewriteOpsecProtocols(Predicate<TcpSegment> which, IntUnaryOperator map) {
        return rewriteOpsecProtocols(which, TcpOptions.Codec.DEFAULT, map);
    }

    /** As {@link #rewriteOpsecProtocols(Predicate, IntUnaryOperator)} for options {@code codec} recognises. */
    public static Middlebox rewriteOpsecProtocols(Predicate<TcpSegment> which, TcpOptions.Codec codec,
                                                  IntUnaryOperator map) {
        Objects.requireNonNull(map);
        return rewrite(which, codec, h -> {
            List<TcpOption> out = new ArrayList<>(h.options().size());
            for (TcpOption o : h.options()) {
                if (o instanceof OpsecOption opsec) {
                    out.add(opsec.withProtocols(java.util.Arrays.stream(opsec.protocolIds())
                            .map(map).filter(id -> id >= 0).toArray()));
                } else {
                    out.add(o);
                }
            }
            return h.withOptions(out);
        });
    }

    /**
     * Inserts a copy of the first option of {@code kind} right after it, in the matching segments.
     * A segment whose options would then exceed 40 bytes is passed unchanged.
     */
    public static Middlebox duplicateOption(int kind, Predicate<TcpSegment> which) {
        return rewrite(which, TcpOptions.Codec.DEFAULT, h -> {
            List<TcpOption> out = new ArrayList<>(h.options().size() + 1);
            boolean done = false;
            for (TcpOption o : h.options()) {
                out.add(o);
                if (!done && o.kind() == kind) {
                    out.add(o);
                    done = true;
                }
            }
            return h.withOptions(out);
        });
    }

    /**
     * Drops every segment with SYN set (SYN and SYN-ACK) that carries an option whose kind is not a
     * {@linkplain #STANDARD_OPTION_KINDS standard} one, as some firewalls do; the OPSEC option's
     * kind 253 is such an option.
     */
    public static Middlebox dropSynWithUnknownOptions() {
        return dropSynWithUnknownOptions(STANDARD_OPTION_KINDS);
    }

    /** As {@link #dropSynWithUnknownOptions()} with the given set of known option kinds. */
    public static Middlebox dropSynWithUnknownOptions(Set<Integer> knownKinds) {
        Set<Integer> known = Set.copyOf(knownKinds);
        return drop(seg -> seg.tcp().has(TcpFlags.SYN)
                && seg.tcp().options().stream().anyMatch(o -> !known.contains(o.kind())));
    }

    /** Drops the matching segments (release included). */
    public static Middlebox drop(Predicate<TcpSegment> which) {
        return rewrite(which, TcpOptions.Codec.DEFAULT, h -> null);
    }

    /**
     * The general form: parses each packet as IPv4/TCP with {@code codec} (checksums verified),
     * and for the segments {@code which} accepts, applies {@code change} to the TCP header.
     * {@code change} returns the new header (re-emitted with both checksums recomputed if it
     * differs), the same header (packet passed untouched) or {@code null} (packet dropped). The
     * payload is kept.
     */
    public static Middlebox rewrite(Predicate<TcpSegment> which, TcpOptions.Codec codec,
                                    UnaryOperator<TcpHeader> change) {
        Objects.requireNonNull(which);
        Objects.requireNonNull(codec);
        Objects.requireNonNull(change);
        return (packet, now) -> {
            ParseResult<TcpSegment> parsed = TcpSegment.parse(packet, codec, true);
            if (!parsed.isOk()) {
                return packet;
            }
            TcpSegment seg = parsed.value();
            if (!which.test(seg)) {
                return packet;
            }
            TcpHeader header = change.apply(seg.tcp());
            if (header == null) {
                packet.release();
                return null;
            }
            if (header.equals(seg.tcp())) {
                return packet;
            }
            if (TcpOptions.paddedLength(header.options()) > TcpOptions.MAX_LENGTH) {
                LOG.debug("middlebox: rewritten options of {} would not fit; passed unchanged", seg);
                return packet;
            }
            return emit(packet, seg, header);
        };
    }

    /** Builds the rewritten packet and releases the original. */
    private static ByteBuf emit(ByteBuf packet, TcpSegment seg, TcpHeader header) {
        Ipv4Header ip = seg.ip();
        int total = Ipv4Packet.MIN_HEADER_LENGTH + header.headerLength() + seg.payloadLength();
        ByteBuf out = packet.alloc().buffer(total);
        try {
            new Ipv4Header(Ipv4Packet.MIN_HEADER_LENGTH, ip.tos(), total, ip.identification(), ip.flagsAndFragment(),
                    ip.ttl(), ip.protocol(), 0, ip.source(), ip.destination()).emit(out);
            header.emit(out, seg.payload(), ip.source(), ip.destination());
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        packet.release();
        return out;
    }
}
