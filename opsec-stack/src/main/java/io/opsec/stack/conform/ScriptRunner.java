package io.opsec.stack.conform;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.opsec.stack.OpsecExtensions;
import io.opsec.stack.opsec.Negotiation;
import io.opsec.stack.opsec.NegotiationOutcome;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.tcp.CongestionAlgorithm;
import io.opsec.stack.tcp.SynCookieMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpEndpoint;
import io.opsec.stack.tcp.TcpError;
import io.opsec.stack.tcp.TcpExtension;
import io.opsec.stack.tcp.TcpListener;
import io.opsec.stack.tcp.TcpState;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * Runs a {@link Script} against one {@link TcpEndpoint} on virtual time, as packetdrill runs a
 * script against a kernel: the script plays the remote host, injects segments ({@code <}),
 * expects segments ({@code >}) and makes socket calls on the local stack.
 *
 * <p><b>Addresses.</b> The stack under test is 192.168.0.1; the script's peer is 192.0.2.1. A
 * listening socket listens on port 8080 and the peer's segments come from port 40000; an active
 * open connects to port 8080 from the stack's ephemeral port.
 *
 * <p><b>Sequence numbers</b> follow packetdrill: the peer's numbers are written as they are on the
 * wire; the stack's are written relative to its ISN, which the runner learns from the first SYN
 * or SYN-ACK the stack sends. So an expected {@code seq} and an injected {@code ack} or SACK block
 * are shifted by the stack's ISN. The stack's TS val is not checked (its clock is its own); an
 * injected TS ecr is shifted by the difference between the live and the scripted TS val of the
 * last expected segment that carried one.
 *
 * <p><b>Time.</b> Virtual: timers run at their deadlines, nothing else advances the clock. An
 * expected segment must leave within the tolerance (header {@code --tolerance_usecs}, default 0)
 * of its time. Any segment the stack sends that the script does not expect, before the next
 * event or after the last one, fails the script.
 *
 * <p>Pure and single-threaded; a run builds its own endpoint and closes it.
 */
public final class ScriptRunner {
    /** The stack under test. */
    public static final int LOCAL_ADDR = Ipv4Address.parse("192.168.0.1");
    /** The script's peer. */
    public static final int REMOTE_ADDR = Ipv4Address.parse("192.0.2.1");
    public static final int SERVER_PORT = 8080;
    public static final int REMOTE_PORT = 40000;
    private static final long ANY_WAIT_US = 3_600_000_000L;

    private final ByteBufAllocator alloc;

    /** @param alloc where the endpoint's and the injected segments' buffers come from */
    public ScriptRunner(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** Runs the script; never throws for anything the script or the stack does. */
    public ScriptResult run(Script script) {
        String reason = script.knownFailure();
        String failure;
        try (Run r = new Run(script)) {
            r.run();
            failure = null;
        } catch (Mismatch m) {
            failure = m.getMessage();
        } catch (RuntimeException e) {
            failure = "the run threw " + e;
        }
        ScriptResult.Status st;
        if (failure == null) {
            st = reason == null ? ScriptResult.Status.PASSED : ScriptResult.Status.UNEXPECTED_PASS;
        } else {
            st = reason == null ? ScriptResult.Status.FAILED : ScriptResult.Status.KNOWN_FAILURE;
        }
        return new ScriptResult(script.name(), st, failure == null ? "" : failure, reason);
    }

    /** A difference between the script and the stack; the message is the report. */
    static final class Mismatch extends RuntimeException {
        Mismatch(String message) {
            super(message, null, false, false);
        }
    }

    private record Sent(long timeUs, TcpHeader h, int payloadLength) {}

    /** A socket descriptor of the script. */
    private static final class Sock {
        TcpListener listener;
        TcpConnection conn;
        boolean noDelay;
        boolean keepAlive;
        long keepIdleS = -1, keepIntvlS = -1;
        int keepCnt = -1;
        boolean lingerZero;
        OpsecMode opsec;
    }

    private final class Run implements AutoCloseable {
        final Script script;
        final TcpConfig cfg;
        final TcpEndpoint ep;
        final long toleranceUs;
        final OpsecMode defaultOpsec;
        final int[] protocols;
        final OpsecOption framing;
        final Map<Integer, Sock> fds = new HashMap<>();
        final Map<TcpExtension, Negotiation> negotiations = new IdentityHashMap<>();
        final ArrayDeque<Sent> sent = new ArrayDeque<>();
        long nowUs;
        long lastUs;
        int localPort = SERVER_PORT;
        int remotePort = REMOTE_PORT;
        long localIss;
        long tsOffset;
        TcpConnection current;
        ScriptEvent event;

        Run(Script script) {
            this.script = script;
            Map<String, String> o = new HashMap<>(script.options());
            toleranceUs = longOpt(o, "tolerance_usecs", 0);
            TcpConfig.Builder b = TcpConfig.builder();
            int literalKind = (int) longOpt(o, "opsec_literal_kind", -1);
            if (literalKind >= 0) {
                b.codec(TcpOptions.Codec.literal(literalKind));
                framing = OpsecOption.literal(literalKind, 0);
            } else {
                framing = OpsecOption.experimental(0);
            }
            String mode = o.remove("opsec_mode");
            defaultOpsec = mode == null ? null : OpsecMode.valueOf(mode.toUpperCase(Locale.ROOT));
            String prot = o.remove("opsec_protocols");
            protocols = prot == null ? new int[] {OpsecOption.PROTOCOL_TLS}
                    : Arrays.stream(prot.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
            if (o.containsKey("mtu")) b.mtu((int) longOpt(o, "mtu", 0));
            if (o.containsKey("sndbuf")) b.sendBufferSize((int) longOpt(o, "sndbuf", 0));
            if (o.containsKey("rcvbuf")) b.receiveBufferSize((int) longOpt(o, "rcvbuf", 0));
            if (o.containsKey("timestamps")) b.timestamps(longOpt(o, "timestamps", 1) != 0);
            if (o.containsKey("sack")) b.sack(longOpt(o, "sack", 1) != 0);
            if (o.containsKey("wscale")) b.windowScaling(longOpt(o, "wscale", 1) != 0);
            if (o.containsKey("min_rto_ms")) b.minRto(Duration.ofMillis(longOpt(o, "min_rto_ms", 0)));
            if (o.containsKey("max_rto_ms")) b.maxRto(Duration.ofMillis(longOpt(o, "max_rto_ms", 0)));
            if (o.containsKey("initial_rto_ms")) b.initialRto(Duration.ofMillis(longOpt(o, "initial_rto_ms", 0)));
            if (o.containsKey("delayed_ack_ms")) b.delayedAck(Duration.ofMillis(longOpt(o, "delayed_ack_ms", 0)));
            if (o.containsKey("msl_ms")) b.msl(Duration.ofMillis(longOpt(o, "msl_ms", 0)));
            if (o.containsKey("fin_wait2_timeout_ms")) b.finWait2Timeout(Duration.ofMillis(longOpt(o, "fin_wait2_timeout_ms", 0)));
            if (o.containsKey("user_timeout_ms")) b.userTimeout(Duration.ofMillis(longOpt(o, "user_timeout_ms", 0)));
            if (o.containsKey("syn_retries")) b.synRetries((int) longOpt(o, "syn_retries", 0));
            if (o.containsKey("synack_retries")) b.synAckRetries((int) longOpt(o, "synack_retries", 0));
            if (o.containsKey("max_retransmits")) b.maxRetransmits((int) longOpt(o, "max_retransmits", 0));
            if (o.containsKey("initial_window")) b.initialWindowSegments((int) longOpt(o, "initial_window", 0));
            if (o.containsKey("challenge_acks_per_second")) b.challengeAckPerSecond((int) longOpt(o, "challenge_acks_per_second", 0));
            if (o.containsKey("congestion")) b.congestion(CongestionAlgorithm.valueOf(o.get("congestion").toUpperCase(Locale.ROOT)));
            if (o.containsKey("syn_cookies")) b.synCookies(SynCookieMode.valueOf(o.get("syn_cookies").toUpperCase(Locale.ROOT)));
            if (o.containsKey("invalid_ack_interval_ms")) b.invalidAckInterval(Duration.ofMillis(longOpt(o, "invalid_ack_interval_ms", 0)));
            for (String k : List.of("tolerance_usecs", "opsec_literal_kind", "mtu", "sndbuf", "rcvbuf", "timestamps",
                    "sack", "wscale", "min_rto_ms", "max_rto_ms", "initial_rto_ms", "delayed_ack_ms", "msl_ms",
                    "fin_wait2_timeout_ms", "user_timeout_ms", "syn_retries", "synack_retries", "max_retransmits",
                    "initial_window", "challenge_acks_per_second", "congestion", "syn_cookies",
                    "invalid_ack_interval_ms")) {
                o.remove(k);
            }
            if ("ipv4".equals(o.get("ip_version"))) {
                o.remove("ip_version");
            }
            if (!o.isEmpty()) {
                throw new Mismatch("unsupported header option(s) " + o.keySet() + " (see docs/conformance.md)");
            }
            cfg = b.build();
            byte[] secret = new byte[32];
            Arrays.fill(secret, (byte) 0x5C);
            ep = new TcpEndpoint(LOCAL_ADDR, cfg, secret, new SplittableRandom(7), alloc);
        }

        private long longOpt(Map<String, String> o, String k, long dflt) {
            String v = o.get(k);
            if (v == null) {
                return dflt;
            }
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new Mismatch("header option --" + k + " needs a number, got '" + v + "'");
            }
        }

        void run() {
            for (ScriptEvent e : script.events()) {
                event = e;
                if (e instanceof ScriptEvent.Segment s && !s.inbound()) {
                    expectSegment(s);
                    continue;
                }
                long t = switch (e.time().kind()) {
                    case ABSOLUTE -> e.time().startUs();
                    case RELATIVE -> lastUs + e.time().startUs();
                    case ANY -> nowUs;
                };
                if (t < nowUs) {
                    t = nowUs; // packetdrill runs late events at once; virtual time cannot be late
                }
                advanceTo(t);
                checkNothingSent("before line " + e.line() + " (" + e.text().strip() + ") at " + sec(t));
                lastUs = t;
                if (e instanceof ScriptEvent.Segment s) {
                    inject(s);
                } else if (e instanceof ScriptEvent.Call c) {
                    call(c);
                } else if (e instanceof ScriptEvent.Assert a) {
                    check(a);
                }
                capture();
            }
            checkNothingSent("after the last line");
        }

        // ------------------------------------------------------------------ time and output

        private void advanceTo(long tUs) {
            long t = tUs * 1000;
            for (int guard = 0; guard < 1_000_000; guard++) {
                long next = ep.pollAt();
                if (next > t) {
                    break;
                }
                long at = Math.max(next, nowUs * 1000);
                ep.poll(at);
                nowUs = Math.max(nowUs, at / 1000);
                capture();
            }
            nowUs = Math.max(nowUs, tUs);
        }

        /** Advances timer by timer up to {@code limitUs} until something is sent. */
        private void advanceUntilSent(long limitUs) {
            long limit = limitUs * 1000;
            for (int guard = 0; guard < 1_000_000 && sent.isEmpty(); guard++) {
                long next = ep.pollAt();
                if (next > limit) {
                    break;
                }
                long at = Math.max(next, nowUs * 1000);
                ep.poll(at);
                nowUs = Math.max(nowUs, at / 1000);
                capture();
            }
        }

        private void capture() {
            for (ByteBuf p; (p = ep.pollTransmit()) != null; ) {
                try {
                    ParseResult<TcpSegment> r = TcpSegment.parse(p, cfg.codec());
                    if (r instanceof ParseResult.Err<TcpSegment> err) {
                        throw new Mismatch("the stack sent a packet that does not parse: " + err);
                    }
                    TcpSegment s = r.value();
                    sent.add(new Sent(nowUs, s.tcp(), s.payloadLength()));
                } finally {
                    p.release();
                }
            }
        }

        private void checkNothingSent(String where) {
            Sent s = sent.peek();
            if (s != null) {
                throw new Mismatch("unexpected segment " + where + ":\n  actual:   " + format(s) + "  at " + sec(s.timeUs)
                        + stateNote());
            }
        }

        private String stateNote() {
            if (current == null) {
                return "";
            }
            TcpConnection.Info i = current.info();
            return "\n  (connection " + current.state() + ": snd.una " + rel(i.sndUna()) + " snd.nxt " + rel(i.sndNxt())
                    + " snd.wnd " + i.sndWnd() + " rcv.nxt " + Integer.toUnsignedLong(i.rcvNxt()) + " rcv.wnd "
                    + i.rcvWnd() + " rto " + i.rto() / 1000 + "us cwnd " + i.cwnd() + ")";
        }

        // ------------------------------------------------------------------ segments

        private void expectSegment(ScriptEvent.Segment s) {
            long start;
            long end;
            switch (s.time().kind()) {
                case ABSOLUTE -> { start = s.time().startUs(); end = s.time().endUs(); }
                case RELATIVE -> { start = lastUs + s.time().startUs(); end = lastUs + s.time().endUs(); }
                default -> { start = nowUs; end = nowUs + ANY_WAIT_US; }
            }
            long lo = s.time().kind() == ScriptEvent.Time.Kind.ANY ? 0 : start - toleranceUs;
            long hi = end + toleranceUs;
            advanceUntilSent(hi);
            Sent got = sent.poll();
            String want = "line " + s.line() + ": expected " + s.text().strip().replaceFirst("^\\S+\\s+", "")
                    + "  at " + sec(start) + (end != start ? "~" + sec(end) : "");
            if (got == null) {
                nowUs = Math.max(nowUs, hi);
                throw new Mismatch(want + "\n  actual:   nothing by " + sec(hi) + stateNote());
            }
            if (got.timeUs < lo) {
                throw new Mismatch(want + "\n  actual:   " + format(got) + "  at " + sec(got.timeUs) + " (early by "
                        + (start - got.timeUs) + " us)");
            }
            TcpHeader h = got.h;
            if (h.has(TcpFlags.SYN)) {
                localIss = Integer.toUnsignedLong(h.seq()) - s.seq();
            }
            List<String> diffs = new ArrayList<>();
            if (h.sourcePort() != localPort || h.destinationPort() != remotePort) {
                diffs.add("ports " + h.sourcePort() + ">" + h.destinationPort() + " vs " + localPort + ">" + remotePort);
            }
            if (h.flags() != s.flags()) {
                diffs.add("flags " + flagString(h.flags()) + " vs " + flagString(s.flags()));
            }
            long seq = rel(h.seq());
            if (seq != s.seq()) {
                diffs.add("seq " + seq + " vs " + s.seq());
            }
            if (got.payloadLength != s.len()) {
                diffs.add("length " + got.payloadLength + " vs " + s.len());
            }
            if (s.ack() != null && Integer.toUnsignedLong(h.ack()) != s.ack()) {
                diffs.add("ack " + Integer.toUnsignedLong(h.ack()) + " vs " + s.ack());
            }
            if (s.win() != null && h.window() != s.win()) {
                diffs.add("win " + h.window() + " vs " + s.win());
            }
            List<OptionSpec> want0 = s.options() == null ? List.of() : s.options();
            if (want0 != ScriptEvent.ANY_OPTIONS) {
                List<String> exp = want0.stream().filter(o -> !(o instanceof OptionSpec.Eol)).map(o -> optionKey(o, false))
                        .toList();
                List<String> act = h.options().stream().filter(o -> !(o instanceof TcpOption.Eol))
                        .map(o -> optionKey(o, false)).toList();
                if (!exp.equals(act)) {
                    diffs.add("options <" + String.join(",", act) + "> vs <" + String.join(",", exp) + ">");
                }
            }
            // learn the TS offset from what the script wrote and what the stack sent
            TcpOption.Timestamps ts = h.option(TcpOption.Timestamps.class);
            if (ts != null) {
                for (OptionSpec o : want0) {
                    if (o instanceof OptionSpec.Timestamps t) {
                        tsOffset = Integer.toUnsignedLong(ts.tsVal()) - t.val();
                    }
                }
            }
            if (!diffs.isEmpty()) {
                throw new Mismatch(want + "\n  actual:   " + format(got) + "  at " + sec(got.timeUs) + "\n  differs in: "
                        + String.join("; ", diffs) + " (actual vs expected)" + stateNote());
            }
            if (got.timeUs > nowUs) {
                nowUs = got.timeUs;
            }
            lastUs = got.timeUs;
        }

        private long rel(int liveSeq) {
            return (Integer.toUnsignedLong(liveSeq) - localIss) & 0xFFFFFFFFL;
        }

        private void inject(ScriptEvent.Segment s) {
            List<TcpOption> opts = new ArrayList<>();
            if (s.options() == ScriptEvent.ANY_OPTIONS) {
                throw new Mismatch("line " + s.line() + ": an injected segment cannot have <...> options");
            }
            if (s.options() != null) {
                for (OptionSpec o : s.options()) {
                    opts.add(toOption(o));
                }
            }
            long ack = s.ack() == null ? 0 : (s.ack() + ((s.flags() & TcpFlags.ACK) != 0 ? localIss : 0));
            TcpHeader h;
            try {
                h = new TcpHeader(remotePort, localPort, (int) s.seq(), (int) ack, 0, s.flags(),
                        s.win() == null ? 65535 : s.win(), 0, 0, opts);
            } catch (IllegalArgumentException e) {
                throw new Mismatch("line " + s.line() + ": cannot build the segment: " + e.getMessage());
            }
            ByteBuf out = alloc.buffer();
            ByteBuf payload = null;
            if (s.len() > 0) {
                payload = alloc.buffer(s.len());
                for (int i = 0; i < s.len(); i++) {
                    payload.writeByte(i);
                }
            }
            try {
                TcpSegment.emit(out, REMOTE_ADDR, LOCAL_ADDR, 0, h, payload);
            } catch (RuntimeException e) {
                out.release();
                throw new Mismatch("line " + s.line() + ": cannot build the segment: " + e.getMessage());
            } finally {
                if (payload != null) {
                    payload.release();
                }
            }
            ep.receive(out, nowUs * 1000);
        }

        private TcpOption toOption(OptionSpec o) {
            if (o instanceof OptionSpec.Nop n) {
                return new TcpOption.Nop();
            }
            if (o instanceof OptionSpec.Eol e) {
                return new TcpOption.Eol();
            }
            if (o instanceof OptionSpec.Mss m) {
                return new TcpOption.Mss(m.mss());
            }
            if (o instanceof OptionSpec.WindowScale w) {
                return new TcpOption.WindowScale(w.shift());
            }
            if (o instanceof OptionSpec.SackOk k) {
                return new TcpOption.SackPermitted();
            }
            if (o instanceof OptionSpec.Timestamps t) {
                return new TcpOption.Timestamps((int) t.val(),
                    (int) (t.ecr() == 0 ? 0 : t.ecr() + tsOffset));
            }
            if (o instanceof OptionSpec.Sack sk) {
                return new TcpOption.Sack(sk.blocks().stream()
                    .map(b -> new TcpOption.SackBlock((int) (b[0] + localIss), (int) (b[1] + localIss))).toList());
            }
            if (o instanceof OptionSpec.Opsec op) {
                return op.kind() < 0 ? OpsecOption.experimental(op.protocols())
                    : OpsecOption.literal(op.kind(), op.protocols());
            }
            if (o instanceof OptionSpec.Raw r) {
                return new TcpOption.Unknown(r.kind(), r.data());
            }
            if (o instanceof OptionSpec.Any a) {
                throw new Mismatch("<...> cannot be sent");
            }
            throw new IllegalStateException();
        }

        /** The option in script syntax; with {@code withVal} false the TS val is left out (not compared). */
        private String optionKey(Object o, boolean withVal) {
            if (o instanceof OptionSpec.Nop n) {
                return "nop";
            }
            if (o instanceof OptionSpec.Eol e) {
                return "eol";
            }
            if (o instanceof OptionSpec.Mss m) {
                return "mss " + m.mss();
            }
            if (o instanceof OptionSpec.WindowScale w) {
                return "wscale " + w.shift();
            }
            if (o instanceof OptionSpec.SackOk k) {
                return "sackOK";
            }
            if (o instanceof OptionSpec.Timestamps t) {
                return "TS val " + (withVal ? t.val() : "*") + " ecr " + t.ecr();
            }
            if (o instanceof OptionSpec.Sack sk) {
                return "sack " + sk.blocks().stream().map(b -> b[0] + ":" + b[1])
                    .collect(Collectors.joining(" "));
            }
            if (o instanceof OptionSpec.Opsec op) {
                return opsecString(op.kind(), op.protocols());
            }
            if (o instanceof OptionSpec.Raw r) {
                return "raw(" + r.kind() + ") " + HexFormat.of().formatHex(r.data());
            }
            if (o instanceof OptionSpec.Any a) {
                return "...";
            }
            if (o instanceof TcpOption.Nop n) {
                return "nop";
            }
            if (o instanceof TcpOption.Eol e) {
                return "eol";
            }
            if (o instanceof TcpOption.Mss m) {
                return "mss " + m.mss();
            }
            if (o instanceof TcpOption.WindowScale w) {
                return "wscale " + w.shift();
            }
            if (o instanceof TcpOption.SackPermitted k) {
                return "sackOK";
            }
            if (o instanceof TcpOption.Timestamps t) {
                return "TS val " + (withVal ? (Integer.toUnsignedLong(t.tsVal()) - tsOffset)
                    & 0xFFFFFFFFL : "*") + " ecr " + Integer.toUnsignedLong(t.tsEcr());
            }
            if (o instanceof TcpOption.Sack sk) {
                return "sack " + sk.blocks().stream()
                    .map(b -> Integer.toUnsignedLong(b.left()) + ":" + Integer.toUnsignedLong(b.right()))
                    .collect(Collectors.joining(" "));
            }
            if (o instanceof OpsecOption op) {
                return opsecString(op.framing() == OpsecOption.Framing.LITERAL ? op.kind() : -1,
                    op.protocolIds());
            }
            if (o instanceof TcpOption.Unknown u) {
                return "raw(" + u.kind() + ") " + HexFormat.of().formatHex(u.data());
            }
            return String.valueOf(o);
        }

        private String opsecString(int kind, int[] ids) {
            String list = Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
            return (kind < 0 ? "opsec" : "opsec-literal(" + kind + ")") + " [" + list + "]";
        }

        private String format(Sent s) {
            TcpHeader h = s.h;
            StringBuilder b = new StringBuilder("> ").append(flagString(h.flags())).append(' ');
            long seq = rel(h.seq());
            b.append(seq).append(':').append((seq + s.payloadLength) & 0xFFFFFFFFL).append('(').append(s.payloadLength)
                    .append(')');
            if (h.has(TcpFlags.ACK)) {
                b.append(" ack ").append(Integer.toUnsignedLong(h.ack()));
            }
            b.append(" win ").append(h.window());
            List<TcpOption> opts = h.options().stream().filter(o -> !(o instanceof TcpOption.Eol)).toList();
            if (!opts.isEmpty()) {
                b.append(" <").append(opts.stream().map(o -> optionKey(o, true)).collect(Collectors.joining(",")))
                        .append('>');
            }
            return b.toString();
        }

        // ------------------------------------------------------------------ socket calls

        private void call(ScriptEvent.Call c) {
            long now = nowUs * 1000;
            List<String> a = c.args();
            long result = 0;
            String errno = null;
            switch (c.name()) {
                case "socket" -> {
                    if (fds.containsKey((int) c.result())) {
                        throw fail(c, "descriptor " + c.result() + " is already in use");
                    }
                    fds.put((int) c.result(), new Sock());
                    result = c.result();
                }
                case "bind" -> sock(c, 0);
                case "listen" -> {
                    Sock s = sock(c, 0);
                    int backlog = intArg(c, 1);
                    OpsecMode mode = s.opsec != null ? s.opsec : defaultOpsec;
                    java.util.function.Supplier<TcpExtension> sup = mode == null ? null : () -> {
                        Negotiation n = Negotiation.responder(mode, protocols, framing);
                        TcpExtension ext = OpsecExtensions.responder(n, () -> nowUs * 1000);
                        negotiations.put(ext, n);
                        return ext;
                    };
                    s.listener = ep.listen(SERVER_PORT, backlog, sup);
                    localPort = SERVER_PORT;
                    remotePort = REMOTE_PORT;
                }
                case "accept" -> {
                    Sock s = sock(c, 0);
                    if (s.listener == null) {
                        throw fail(c, "descriptor " + a.get(0) + " is not listening");
                    }
                    TcpConnection conn = ep.accept(s.listener);
                    if (conn == null) {
                        result = -1;
                        errno = "EAGAIN";
                    } else {
                        Sock n = new Sock();
                        n.conn = conn;
                        n.noDelay = s.noDelay;
                        n.lingerZero = s.lingerZero;
                        fds.put((int) c.result(), n);
                        result = c.result();
                        OpsecExtensions.bind(conn.extension(), conn);
                        applyOptions(n, now);
                        current = conn;
                    }
                }
                case "connect" -> {
                    Sock s = sock(c, 0);
                    OpsecMode mode = s.opsec != null ? s.opsec : defaultOpsec;
                    TcpExtension ext = null;
                    if (mode != null) {
                        Negotiation n = Negotiation.initiator(mode, protocols, framing);
                        ext = OpsecExtensions.initiator(n, REMOTE_ADDR, () -> nowUs * 1000);
                        negotiations.put(ext, n);
                    }
                    s.conn = ep.connect(REMOTE_ADDR, SERVER_PORT, 0, ext, now);
                    OpsecExtensions.bind(ext, s.conn);
                    localPort = s.conn.localPort();
                    remotePort = SERVER_PORT;
                    current = s.conn;
                    applyOptions(s, now);
                    // A non-blocking connect: -1 EINPROGRESS; a script's blocking "= 0" is taken alike.
                    result = c.result();
                    errno = c.errno();
                    if (!(c.result() == 0 || (c.result() == -1 && "EINPROGRESS".equals(c.errno())))) {
                        throw fail(c, "connect() returns 0 or -1 EINPROGRESS here");
                    }
                }
                case "write", "send" -> {
                    Sock s = sock(c, 0);
                    TcpConnection conn = conn(c, s);
                    current = conn;
                    int n = intArg(c, 2);
                    ByteBuf data = alloc.buffer(n);
                    for (int i = 0; i < n; i++) {
                        data.writeByte(i);
                    }
                    try {
                        int took = conn.send(data, now);
                        if (took < 0) {
                            result = -1;
                            errno = conn.error() != null ? errnoOf(conn.error()) : "EPIPE";
                        } else if (took == 0 && n > 0) {
                            result = -1;
                            errno = "EAGAIN";
                        } else {
                            result = took;
                        }
                    } finally {
                        data.release();
                    }
                }
                case "read", "recv" -> {
                    Sock s = sock(c, 0);
                    TcpConnection conn = conn(c, s);
                    current = conn;
                    ByteBuf b = conn.read(intArg(c, 2), now);
                    if (b != null) {
                        result = b.readableBytes();
                        b.release();
                    } else if (conn.error() != null && conn.error() != TcpError.ABORTED) {
                        result = -1;
                        errno = errnoOf(conn.error());
                    } else if (conn.isInputEnded()) {
                        result = 0;
                    } else {
                        result = -1;
                        errno = "EAGAIN";
                    }
                }
                case "close" -> {
                    Sock s = sock(c, 0);
                    if (s.listener != null) {
                        ep.closeListener(s.listener, now);
                    }
                    if (s.conn != null) {
                        if (s.lingerZero) {
                            s.conn.abort(now);
                        } else {
                            s.conn.close(now);
                        }
                    }
                    fds.remove(intArg(c, 0));
                }
                case "shutdown" -> {
                    Sock s = sock(c, 0);
                    TcpConnection conn = conn(c, s);
                    String how = a.size() > 1 ? a.get(1) : "";
                    if (how.equals("SHUT_WR") || how.equals("SHUT_RDWR") || how.equals("1") || how.equals("2")) {
                        conn.shutdownOutput(now);
                    } else if (!(how.equals("SHUT_RD") || how.equals("0"))) {
                        throw fail(c, "shutdown how must be SHUT_RD, SHUT_WR or SHUT_RDWR");
                    }
                }
                case "setsockopt" -> setsockopt(c, now);
                case "getsockopt" -> {
                    Sock s = sock(c, 0);
                    String actual = getsockopt(c, s);
                    String want = a.size() > 3 ? a.get(3).replaceAll("[\\[\\]\\s]", "") : "";
                    if (!want.equals(actual)) {
                        throw fail(c, "getsockopt value [" + actual + "] vs expected [" + want + "]");
                    }
                }
                default -> throw fail(c, "unsupported call " + c.name() + "() (see docs/conformance.md)");
            }
            if (result != c.result() || !java.util.Objects.equals(errno, c.errno())) {
                throw fail(c, "returned " + result + (errno == null ? "" : " " + errno) + ", expected " + c.result()
                        + (c.errno() == null ? "" : " " + c.errno()));
            }
        }

        private void applyOptions(Sock s, long now) {
            TcpConnection conn = s.conn;
            if (conn == null) {
                return;
            }
            conn.setNoDelay(s.noDelay || cfg.noDelay(), now);
            if (s.keepAlive) {
                long idle = s.keepIdleS >= 0 ? s.keepIdleS * 1_000_000_000L : cfg.keepIdleNanos();
                long intvl = s.keepIntvlS >= 0 ? s.keepIntvlS * 1_000_000_000L : cfg.keepIntervalNanos();
                int cnt = s.keepCnt >= 0 ? s.keepCnt : cfg.keepCount();
                conn.setKeepAlive(true, idle, intvl, cnt, now);
            }
        }

        private void setsockopt(ScriptEvent.Call c, long now) {
            Sock s = sock(c, 0);
            List<String> a = c.args();
            if (a.size() < 4) {
                throw fail(c, "setsockopt(fd, level, name, value, len)");
            }
            String name = a.get(2);
            String v = a.get(3);
            switch (name) {
                case "TCP_NODELAY" -> s.noDelay = bracketInt(c, v) != 0;
                case "SO_KEEPALIVE" -> s.keepAlive = bracketInt(c, v) != 0;
                case "TCP_KEEPIDLE" -> s.keepIdleS = bracketInt(c, v);
                case "TCP_KEEPINTVL" -> s.keepIntvlS = bracketInt(c, v);
                case "TCP_KEEPCNT" -> s.keepCnt = bracketInt(c, v);
                case "SO_LINGER" -> {
                    String w = v.replaceAll("\\s", "");
                    boolean on = w.contains("onoff=1");
                    boolean zero = w.contains("linger=0");
                    if (on && !zero) {
                        throw fail(c, "only SO_LINGER {onoff=1, linger=0} (reset on close) or onoff=0 is supported");
                    }
                    s.lingerZero = on;
                }
                case "TCP_OPSEC" -> {
                    String m = v.replaceAll("[\\[\\]\\s]", "");
                    try {
                        s.opsec = OpsecMode.valueOf(m.toUpperCase(Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw fail(c, "TCP_OPSEC takes [OFF], [OPPORTUNISTIC] or [REQUIRED]");
                    }
                    if (s.conn != null || s.listener != null) {
                        throw fail(c, "TCP_OPSEC must be set before connect() or listen()");
                    }
                }
                case "SO_REUSEADDR", "SO_REUSEPORT" -> { }
                default -> throw fail(c, "unsupported socket option " + name);
            }
            if (s.conn != null) {
                if (name.equals("TCP_NODELAY")) {
                    s.conn.setNoDelay(s.noDelay, now);
                } else if (name.startsWith("TCP_KEEP") || name.equals("SO_KEEPALIVE")) {
                    if (s.keepAlive) {
                        applyOptions(s, now);
                    } else {
                        s.conn.setKeepAlive(false, now);
                    }
                }
            }
        }

        private String getsockopt(ScriptEvent.Call c, Sock s) {
            String name = c.args().size() > 2 ? c.args().get(2) : "";
            return switch (name) {
                case "TCP_NODELAY" -> s.conn != null ? (s.conn.noDelay() ? "1" : "0") : (s.noDelay ? "1" : "0");
                case "SO_KEEPALIVE" -> s.conn != null ? (s.conn.keepAlive() ? "1" : "0") : (s.keepAlive ? "1" : "0");
                case "SO_ERROR" -> s.conn == null || s.conn.error() == null ? "0" : errnoOf(s.conn.error());
                case "TCP_OPSEC" -> String.valueOf(s.opsec != null ? s.opsec : defaultOpsec != null ? defaultOpsec
                        : OpsecMode.OFF);
                case "SO_LINGER" -> s.lingerZero ? "{onoff=1,linger=0}" : "{onoff=0,linger=0}";
                default -> throw fail(c, "unsupported socket option " + name);
            };
        }

        private Sock sock(ScriptEvent.Call c, int i) {
            Sock s = fds.get(intArg(c, i));
            if (s == null) {
                throw fail(c, "descriptor " + c.args().get(i) + " is not open");
            }
            return s;
        }

        private TcpConnection conn(ScriptEvent.Call c, Sock s) {
            if (s.conn == null) {
                throw fail(c, "descriptor " + c.args().get(0) + " is not connected");
            }
            return s.conn;
        }

        private int intArg(ScriptEvent.Call c, int i) {
            if (c.args().size() <= i) {
                throw fail(c, "missing argument " + (i + 1));
            }
            try {
                return Integer.parseInt(c.args().get(i));
            } catch (NumberFormatException e) {
                throw fail(c, "argument " + (i + 1) + " must be a number: " + c.args().get(i));
            }
        }

        private int bracketInt(ScriptEvent.Call c, String v) {
            try {
                return Integer.parseInt(v.replaceAll("[\\[\\]\\s]", ""));
            } catch (NumberFormatException e) {
                throw fail(c, "expected [number], got " + v);
            }
        }

        private Mismatch fail(ScriptEvent e, String what) {
            return new Mismatch("line " + e.line() + ": " + e.text().strip() + "\n  " + what + stateNote());
        }

        // ------------------------------------------------------------------ asserts

        private void check(ScriptEvent.Assert a) {
            for (ScriptEvent.Check k : a.checks()) {
                String actual = value(a, k.name());
                String want = k.value().replaceAll("^\"|\"$", "");
                boolean ok;
                if (k.op().equals("==") || k.op().equals("!=")) {
                    ok = actual.equalsIgnoreCase(want) == k.op().equals("==");
                } else {
                    long x;
                    long y;
                    try {
                        x = Long.parseLong(actual);
                        y = Long.parseLong(want);
                    } catch (NumberFormatException e) {
                        throw fail(a, k + ": " + k.op() + " compares numbers only");
                    }
                    ok = switch (k.op()) {
                        case "<" -> x < y;
                        case "<=" -> x <= y;
                        case ">" -> x > y;
                        default -> x >= y;
                    };
                }
                if (!ok) {
                    throw fail(a, "assert " + k + " failed: " + k.name() + " is " + actual);
                }
            }
        }

        private String value(ScriptEvent.Assert a, String name) {
            if (name.equals("connections")) {
                return String.valueOf(ep.connectionCount());
            }
            if (current == null) {
                throw fail(a, name + ": no connection yet");
            }
            TcpConnection.Info i = current.info();
            Negotiation n = current.extension() == null ? null : negotiations.get(current.extension());
            return switch (name) {
                case "tcpi_state" -> linuxState(current.state());
                case "tcpi_rto" -> String.valueOf(i.rto() / 1000);
                case "tcpi_snd_cwnd" -> String.valueOf(i.cwnd() / Math.max(1, i.smss()));
                case "tcpi_snd_ssthresh" -> String.valueOf(i.ssthresh() >= Integer.MAX_VALUE ? Integer.MAX_VALUE
                        : i.ssthresh() / Math.max(1, i.smss()));
                case "tcpi_snd_mss" -> String.valueOf(i.smss());
                case "tcpi_snd_wscale" -> String.valueOf(i.sndWscale());
                case "tcpi_rcv_wscale" -> String.valueOf(i.rcvWscale());
                case "tcpi_snd_wnd" -> String.valueOf(i.sndWnd());
                case "tcpi_rcv_wnd" -> String.valueOf(i.rcvWnd());
                case "tcpi_retransmits" -> String.valueOf(i.retransmits());
                case "tcpi_unacked" -> String.valueOf(current.unacknowledgedBytes());
                case "tcpi_readable" -> String.valueOf(current.readableBytes());
                case "tcpi_options_ts" -> i.timestamps() ? "1" : "0";
                case "tcpi_options_sack" -> i.sack() ? "1" : "0";
                case "so_error" -> current.error() == null ? "0" : errnoOf(current.error());
                case "opsec" -> n == null ? "none" : n.outcome() instanceof NegotiationOutcome.Secured ? "secured"
                        : n.outcome() instanceof NegotiationOutcome.Plain ? "plain"
                        : n.outcome() instanceof NegotiationOutcome.Failed ? "failed" : "pending";
                case "opsec_protocol" -> n != null && n.outcome() instanceof NegotiationOutcome.Secured sec
                        ? String.valueOf(sec.protocol()) : "-1";
                case "opsec_reason" -> n != null && n.outcome() instanceof NegotiationOutcome.Plain p
                        ? p.reason().name() : "none";
                default -> throw fail(a, "unknown value " + name + " (see docs/conformance.md)");
            };
        }

        @Override
        public void close() {
            sent.clear();
            ep.close();
            for (ByteBuf p; (p = ep.pollTransmit()) != null; ) {
                p.release();
            }
        }
    }

    static String linuxState(TcpState s) {
        return switch (s) {
            case CLOSED -> "TCP_CLOSE";
            case LISTEN -> "TCP_LISTEN";
            case SYN_SENT -> "TCP_SYN_SENT";
            case SYN_RECEIVED -> "TCP_SYN_RECV";
            case ESTABLISHED -> "TCP_ESTABLISHED";
            case FIN_WAIT_1 -> "TCP_FIN_WAIT1";
            case FIN_WAIT_2 -> "TCP_FIN_WAIT2";
            case CLOSE_WAIT -> "TCP_CLOSE_WAIT";
            case CLOSING -> "TCP_CLOSING";
            case LAST_ACK -> "TCP_LAST_ACK";
            case TIME_WAIT -> "TCP_TIME_WAIT";
        };
    }

    static String errnoOf(TcpError e) {
        return switch (e) {
            case REFUSED -> "ECONNREFUSED";
            case RESET -> "ECONNRESET";
            case TIMEOUT -> "ETIMEDOUT";
            case ABORTED -> "ECONNABORTED";
            case EXTENSION -> "EPROTO";
            case ENDPOINT_CLOSED -> "ESHUTDOWN";
        };
    }

    static String flagString(int f) {
        StringBuilder b = new StringBuilder();
        if ((f & TcpFlags.SYN) != 0) b.append('S');
        if ((f & TcpFlags.FIN) != 0) b.append('F');
        if ((f & TcpFlags.RST) != 0) b.append('R');
        if ((f & TcpFlags.PSH) != 0) b.append('P');
        if ((f & TcpFlags.URG) != 0) b.append('U');
        if ((f & TcpFlags.ECE) != 0) b.append('E');
        if ((f & TcpFlags.CWR) != 0) b.append('W');
        if ((f & TcpFlags.ACK) != 0) b.append('.');
        return b.isEmpty() ? "-" : b.toString();
    }

    static String sec(long us) {
        return String.format(Locale.ROOT, "%d.%06ds", us / 1_000_000, us % 1_000_000);
    }
}
