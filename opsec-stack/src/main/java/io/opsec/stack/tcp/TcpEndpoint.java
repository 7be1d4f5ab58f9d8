package io.opsec.stack.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpSegment;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's TCP: the demultiplexer by 4-tuple, listeners, the ISN and ephemeral-port sources,
 * and the connections' shared transmit queue and timer schedule.
 *
 * <p><b>Pure and single-threaded.</b> No threads, locks, clock reads or I/O. The owner (the
 * runtime's event loop or the simulator) drives it:
 * <ol>
 *   <li>{@link #receive(ByteBuf, long)} for every IPv4 packet from the link;</li>
 *   <li>{@link #poll(long)} when {@link #pollAt()} has come;</li>
 *   <li>after any call, {@link #pollTransmit()} until it returns {@code null}, handing each packet
 *       to the link.</li>
 * </ol>
 * Readiness is reported through {@link ConnectionEvents} (per connection) and
 * {@link TcpListener#setOnAcceptable} callbacks, run at the end of each call, and can also be
 * polled from the connection.
 */
public final class TcpEndpoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TcpEndpoint.class);
    static final int EV_ESTABLISHED = 1, EV_READABLE = 2, EV_WRITABLE = 4, EV_CLOSED = 8;

    private record Key(int remoteAddr, int remotePort, int localPort) {}

    private record TimerEntry(long at, TcpConnection c) {}

    private final int localAddr;
    private final TcpConfig cfg;
    private final ByteBufAllocator alloc;
    private final IsnGenerator isnGen;
    private final SynCookies cookies;
    private IsnGenerator isnOverride;
    private final RandomGenerator random;
    final TcpStats stats = new TcpStats();
    private final Map<Key, TcpConnection> conns = new HashMap<>();
    private final Map<Integer, TcpListener> listeners = new HashMap<>();
    private final LinkedHashSet<TcpConnection> holding = new LinkedHashSet<>();
    private final ArrayDeque<ByteBuf> txQueue = new ArrayDeque<>();
    private final PriorityQueue<TimerEntry> timerHeap = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
    private final ArrayDeque<TcpConnection> eventQueue = new ArrayDeque<>();
    private final ArrayDeque<TcpListener> acceptEvents = new ArrayDeque<>();
    private boolean dispatching;
    private boolean batching;
    private final ArrayDeque<TcpConnection> batched = new ArrayDeque<>();
    private int ipId;
    private boolean closed;

    /**
     * @param localAddr IPv4 address of this host (network order in an int)
     * @param cfg       settings
     * @param isnSecret 32 random bytes keying the RFC 6528 ISN hash (copied)
     * @param random    source for RFC 6056 ephemeral port selection
     * @param alloc     where buffers come from
     */
    public TcpEndpoint(int localAddr, TcpConfig cfg, byte[] isnSecret, RandomGenerator random, ByteBufAllocator alloc) {
        this.localAddr = localAddr;
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.isnGen = IsnGenerator.rfc6528(isnSecret.clone());
        this.cookies = new SynCookies(isnSecret);
        this.random = Objects.requireNonNull(random, "random");
        this.alloc = Objects.requireNonNull(alloc, "alloc");
    }

    /** An endpoint with a fresh secret and port randomness from {@link SecureRandom}. */
    public static TcpEndpoint create(int localAddr, TcpConfig cfg, ByteBufAllocator alloc) {
        SecureRandom sr = new SecureRandom();
        byte[] secret = new byte[32];
        sr.nextBytes(secret);
        return new TcpEndpoint(localAddr, cfg, secret, sr, alloc);
    }

    public int localAddress() {
        return localAddr;
    }

    public TcpConfig config() {
        return cfg;
    }

    public TcpStats stats() {
        return stats;
    }

    ByteBufAllocator alloc() {
        return alloc;
    }

    /** Tests only: replaces the ISN source (to put ISNs near 2^32, for instance). */
    void setIsnGenerator(IsnGenerator g) {
        this.isnOverride = g;
    }

    private IsnGenerator isn() {
        return isnOverride != null ? isnOverride : isnGen;
    }

    // ------------------------------------------------------------------------------------------
    // Opening and listening
    // ------------------------------------------------------------------------------------------

    /** Passive open on {@code port} without a handshake extension. */
    public TcpListener listen(int port, int backlog) {
        return listen(port, backlog, null);
    }

    /**
     * Passive open (RFC 9293 §3.10.1) on {@code port}.
     *
     * @param extensions makes one {@link TcpExtension} per incoming SYN, or {@code null} for none
     * @throws IllegalStateException when the port already has a listener
     */
    public TcpListener listen(int port, int backlog, Supplier<? extends TcpExtension> extensions) {
        checkPort(port);
        if (listeners.containsKey(port)) {
            throw new IllegalStateException("port " + port + " already has a listener");
        }
        TcpListener l = new TcpListener(port, backlog, extensions);
        listeners.put(port, l);
        return l;
    }

    /**
     * The next established connection of a listener, or {@code null}. The connection may already
     * have data to read, or even have been closed by the peer: check its state after accepting.
     */
    public TcpConnection accept(TcpListener listener) {
        TcpConnection c = listener.acceptQueue.pollFirst();
        if (c != null) {
            c.listener = null;
            stats.connectionsAccepted++;
        }
        return c;
    }

    /** Stops listening; connections not yet accepted (established or half-open) are reset. */
    public void closeListener(TcpListener listener, long now) {
        if (listeners.get(listener.port) == listener) {
            listeners.remove(listener.port);
        }
        listener.closed = true;
        List<TcpConnection> doomed = new ArrayList<>(listener.acceptQueue);
        listener.acceptQueue.clear();
        for (TcpConnection c : conns.values()) {
            if (c.listener == listener && !doomed.contains(c)) {
                doomed.add(c);
            }
        }
        for (TcpConnection c : doomed) {
            c.listener = null;
            c.abort(now);
        }
        dispatchEvents();
    }

    /** Active open without an extension; see {@link #connect(int, int, int, TcpExtension, long)}. */
    public TcpConnection connect(int remoteAddr, int remotePort, int localPort, long now) {
        return connect(remoteAddr, remotePort, localPort, null, now);
    }

    /**
     * Active open (RFC 9293 §3.10.1): sends a SYN and returns the connection in SYN-SENT.
     *
     * @param localPort 0 for an RFC 6056 randomised ephemeral port
     * @param ext       the handshake extension for this connection, or {@code null}
     * @throws IllegalStateException when the 4-tuple is in use or no ephemeral port is free
     */
    public TcpConnection connect(int remoteAddr, int remotePort, int localPort, TcpExtension ext, long now) {
        if (closed) {
            throw new IllegalStateException("endpoint closed");
        }
        if (!isValidPeer(remoteAddr)) {
            // RFC 9293 §3.9.1.1 (MUST-46), RFC 1122 §4.2.3.10: an OPEN to a broadcast or multicast
            // address is an error.
            throw new IllegalArgumentException("not a single host: " + Ipv4Address.format(remoteAddr));
        }
        checkPort(remotePort);
        if (localPort == 0) {
            localPort = ephemeralPort(remoteAddr, remotePort);
        } else {
            checkPort(localPort);
            if (conns.containsKey(new Key(remoteAddr, remotePort, localPort))) {
                throw new IllegalStateException("address in use: " + Ipv4Address.format(localAddr) + ":" + localPort
                        + " > " + Ipv4Address.format(remoteAddr) + ":" + remotePort);
            }
        }
        int iss = isn().isn(localAddr, localPort, remoteAddr, remotePort, now);
        int tsOffset = isn().timestampOffset(localAddr, localPort, remoteAddr, remotePort);
        TcpConnection c = new TcpConnection(this, cfg, localAddr, localPort, remoteAddr, remotePort, true, ext, iss,
                tsOffset);
        conns.put(new Key(remoteAddr, remotePort, localPort), c);
        holding.add(c);
        stats.connectionsOpened++;
        c.openActive(now);
        reschedule(c);
        return c;
    }

    /**
     * RFC 6056 §3.3.1 Algorithm 1: a random starting point in the ephemeral range, then the next
     * free port. A port is free for this peer when no connection (including TIME-WAIT) uses the
     * same 4-tuple and no listener holds it.
     */
    private int ephemeralPort(int remoteAddr, int remotePort) {
        int first = cfg.ephemeralPortFirst();
        int num = cfg.ephemeralPortLast() - first + 1;
        int offset = random.nextInt(num);
        for (int i = 0; i < num; i++) {
            int port = first + (offset + i) % num;
            if (!listeners.containsKey(port) && !conns.containsKey(new Key(remoteAddr, remotePort, port))) {
                return port;
            }
        }
        throw new IllegalStateException("no free ephemeral port toward " + Ipv4Address.format(remoteAddr) + ":"
                + remotePort);
    }

    /**
     * Whether {@code addr} can be a peer: one host, not a broadcast (limited, or the local subnet's
     * directed broadcast when {@link TcpConfig#localPrefixLength()} is known), not multicast, not
     * in 0.0.0.0/8 (RFC 1122 §3.2.1.3).
     */
    private boolean isValidPeer(int addr) {
        if (!Ipv4Address.isSingleHost(addr)) {
            return false;
        }
        int p = cfg.localPrefixLength();
        return p < 1 || p > 30 || addr != (localAddr | (-1 >>> p));
    }

    private static void checkPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of 1..65535");
        }
    }

    /** Connections in the demultiplexer (including TIME-WAIT), for tests and tracing. */
    public int connectionCount() {
        return conns.size();
    }

    // ------------------------------------------------------------------------------------------
    // Input
    // ------------------------------------------------------------------------------------------

    /**
     * Takes one IPv4 packet from the link and processes it.
     *
     * @param ipPacket <b>ownership passes to the endpoint</b>, which releases it before returning
     */
    public void receive(ByteBuf ipPacket, long now) {
        try {
            if (closed) {
                return;
            }
            stats.packetsIn++;
            ParseResult<TcpSegment> r = TcpSegment.parse(ipPacket, cfg.codec());
            if (r instanceof ParseResult.Err<TcpSegment> err) {
                stats.parseError(err.error());
                log.debug("dropped malformed packet: {}", err);
                return;
            }
            TcpSegment seg = r.value();
            if (seg.ip().destination() != localAddr) {
                stats.notForUs++; // broadcast and multicast too: RFC 9293 §3.10.7.2 (MUST-57)
                return;
            }
            if (!isValidPeer(seg.ip().source())) {
                // RFC 9293 §3.10.7.2 (MUST-63), RFC 1122 §4.2.3.10: a SYN from a broadcast or
                // multicast address is ignored. Like Linux's IP layer (martian sources) we drop every
                // segment from one, so nothing (no RST either) is ever sent to such an address.
                stats.badSourceAddress++;
                return;
            }
            demux(seg, now);
        } finally {
            ipPacket.release();
        }
        dispatchEvents();
    }

    private void demux(TcpSegment seg, long now) {
        TcpHeader h = seg.tcp();
        int remoteAddr = seg.ip().source();
        Key key = new Key(remoteAddr, h.sourcePort(), h.destinationPort());
        TcpConnection c = conns.get(key);
        if (c != null && c.state() == TcpState.TIME_WAIT && isNewSyn(c, h)
                && listeners.containsKey(h.destinationPort())) {
            // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN may reopen a TIME-WAIT 4-tuple when its
            // sequence number (or timestamp) is beyond the old connection's.
            c.becomeClosed(null);
            c.releaseAll();
            c = null;
        }
        if (c != null) {
            c.onSegment(h, seg.payload(), now);
            afterCall(c);
            return;
        }
        TcpListener l = listeners.get(h.destinationPort());
        if (l != null) {
            listenSegment(l, seg, key, now);
            return;
        }
        closedSegment(seg);
    }

    private static boolean isNewSyn(TcpConnection tw, TcpHeader h) {
        if (!h.has(TcpFlags.SYN) || h.has(TcpFlags.ACK) || h.has(TcpFlags.RST)) {
            return false;
        }
        TcpOption.Timestamps ts = h.option(TcpOption.Timestamps.class);
        if (tw.timestampsOk() && ts != null) {
            return SeqNum.gt(ts.tsVal(), tw.timeWaitTsRecent());
        }
        return SeqNum.gt(h.seq(), tw.timeWaitRcvNxt());
    }

    /** RFC 9293 §3.10.7.2: a segment for a listener. */
    private void listenSegment(TcpListener l, TcpSegment seg, Key key, long now) {
        TcpHeader h = seg.tcp();
        if (h.has(TcpFlags.RST)) {
            return; // "An incoming RST should be ignored"
        }
        if (h.has(TcpFlags.ACK)) {
            if (!h.has(TcpFlags.SYN) && expectsCookies(l, now) && cookieAck(l, seg, key, now)) {
                return;
            }
            stats.noConnection++;
            sendRst(localAddr, h.destinationPort(), seg.ip().source(), h.sourcePort(), h.ack(), 0, false);
            return;
        }
        if (!h.has(TcpFlags.SYN)) {
            return;
        }
        SynCookieMode mode = cfg.synCookies();
        boolean cookie = mode == SynCookieMode.ALWAYS || mode == SynCookieMode.WHEN_FULL && l.full();
        if (l.acceptQueue.size() >= l.backlog || l.full() && !cookie) {
            // Like Linux: the peer's SYN retransmission tries again. A cookie would not help while
            // the accept queue itself is full: its ACK could not be queued either.
            stats.synsDroppedBacklog++;
            return;
        }
        if (cookie && answerWithCookie(l, seg, now)) {
            return;
        }
        if (l.full()) {
            stats.synsDroppedBacklog++; // the SYN does not fit in a cookie (MSS below 536, extension state)
            return;
        }
        TcpExtension ext = l.extensions == null ? null : l.extensions.get();
        int remoteAddr = seg.ip().source();
        int iss = isn().isn(localAddr, l.port, remoteAddr, h.sourcePort(), now);
        int tsOffset = isn().timestampOffset(localAddr, l.port, remoteAddr, h.sourcePort());
        TcpConnection c = new TcpConnection(this, cfg, localAddr, l.port, remoteAddr, h.sourcePort(), false, ext, iss,
                tsOffset);
        if (ext != null && ext.onSegment(h, seg.payloadLength(), TcpState.LISTEN) == TcpExtension.Verdict.ABORT) {
            stats.extensionAborts++;
            sendRst(localAddr, h.destinationPort(), remoteAddr, h.sourcePort(), 0,
                    h.seq() + 1 + seg.payloadLength(), true);
            return; // the connection was never entered anywhere and holds no memory
        }
        c.listener = l;
        l.halfOpen++;
        conns.put(key, c);
        holding.add(c);
        // DEVIATION: data on a SYN is not queued (no TFO); it is left unacknowledged so the peer
        // sends it again, as Linux does without TFO.
        c.openPassive(h, now);
        afterCall(c);
    }

    /**
     * RFC 4987 §3.6: answers a SYN with a SYN-ACK whose ISN is a SYN cookie, keeping no state.
     * What the connection needs later travels in the cookie (the MSS as a table index, whether
     * timestamps are on, the extension's decision) and, when the peer sends timestamps, in the low
     * bits of our TSval (window scale, SACK-permitted), which the peer echoes. Without timestamps the
     * SYN-ACK offers neither window scaling nor SACK, as Linux's cookies do.
     *
     * @return false when the SYN does not fit in a cookie; nothing was sent then
     */
    private boolean answerWithCookie(TcpListener l, TcpSegment seg, long now) {
        TcpHeader h = seg.tcp();
        TcpOption.Mss mss = h.option(TcpOption.Mss.class);
        int mssIndex = SynCookies.mssIndex(mss == null ? TcpConnection.DEFAULT_MSS : mss.mss());
        if (mssIndex < 0) {
            return false; // rounding down would send more than the peer's MSS
        }
        int remoteAddr = seg.ip().source();
        TcpExtension ext = l.extensions == null ? null : l.extensions.get();
        List<TcpOption> extOptions = List.of();
        int extState = 0;
        if (ext != null) {
            if (ext.onSegment(h, seg.payloadLength(), TcpState.LISTEN) == TcpExtension.Verdict.ABORT) {
                stats.extensionAborts++;
                sendRst(localAddr, l.port, remoteAddr, h.sourcePort(), 0, h.seq() + 1 + seg.payloadLength(), true);
                return true;
            }
            extOptions = ext.synAckOptions(h, false);
            extState = ext.synCookieState();
            if (extState < 0 || extState >= SynCookies.EXTENSION_STATES) {
                return false;
            }
        }
        TcpOption.Timestamps peerTs = h.option(TcpOption.Timestamps.class);
        boolean tsOn = cfg.timestamps() && peerTs != null;
        TcpOption.Timestamps ts = null;
        boolean sack = false;
        int wscale = -1;
        if (tsOn) {
            TcpOption.WindowScale ws = h.option(TcpOption.WindowScale.class);
            int peerWscale = cfg.windowScaling() && ws != null ? ws.shift() : -1;
            sack = cfg.sack() && h.option(TcpOption.SackPermitted.class) != null;
            wscale = peerWscale < 0 ? -1 : TcpConnection.windowShift(cfg);
            int tsOffset = isn().timestampOffset(localAddr, l.port, remoteAddr, h.sourcePort());
            int tsVal = SynCookies.tsValue(TcpConnection.tsNow(now, tsOffset), SynCookies.tsOptions(peerWscale, sack));
            ts = new TcpOption.Timestamps(tsVal, peerTs.tsVal());
        }
        int iss = cookies.encode(localAddr, l.port, remoteAddr, h.sourcePort(), h.seq(), now, mssIndex, tsOn, extState);
        List<TcpOption> opts = TcpConnection.handshakeOptions(cfg.mss(), sack, ts, wscale, extOptions);
        // DEVIATION: as for any SYN, data on it is not acknowledged (no TFO); the peer sends it again.
        transmit(localAddr, remoteAddr, TcpHeader.of(l.port, h.sourcePort(), iss, h.seq() + 1,
                TcpFlags.SYN | TcpFlags.ACK, TcpConnection.synWindow(cfg), opts), null);
        stats.synCookiesSent++;
        l.cookieSentAt = now;
        return true;
    }

    /**
     * Whether an ACK to this listener may carry a cookie: always in {@link SynCookieMode#ALWAYS};
     * otherwise only while a cookie the listener sent can still be valid, as Linux checks, so that
     * blind ACKs cannot try cookies against a listener that never sent one.
     */
    private boolean expectsCookies(TcpListener l, long now) {
        return cfg.synCookies() == SynCookieMode.ALWAYS
                || l.cookieSentAt != Long.MIN_VALUE && now - l.cookieSentAt < 2 * SynCookies.SLOT_NANOS;
    }

    /**
     * RFC 4987 §3.6: an ACK to a listener whose SEG.ACK - 1 may be a cookie (with SEG.SEQ - 1 as the
     * peer's ISN). A valid one makes the connection, ESTABLISHED by this very segment.
     *
     * @return false when the cookie is not valid (counted; the caller resets, as for any ACK in
     *         LISTEN); true when the segment was taken: a connection made, or the ACK dropped
     *         because the accept queue is full (the peer retransmits, as with Linux)
     */
    private boolean cookieAck(TcpListener l, TcpSegment seg, Key key, long now) {
        TcpHeader h = seg.tcp();
        int remoteAddr = seg.ip().source();
        int iss = h.ack() - 1;
        SynCookies.Decoded d = cookies.decode(localAddr, l.port, remoteAddr, h.sourcePort(), h.seq() - 1, iss, now);
        TcpOption.Timestamps ts = h.option(TcpOption.Timestamps.class);
        if (d == null || d.timestamps() && ts == null) {
            // Forged, stale, for another 4-tuple, or timestamps stripped from the ACK (then the
            // window scale the peer applies to our windows is unknown: refuse rather than guess).
            stats.synCookiesFailed++;
            return false;
        }
        if (l.acceptQueue.size() >= l.backlog) {
            stats.synsDroppedBacklog++;
            return true;
        }
        TcpExtension ext = l.extensions == null ? null : l.extensions.get();
        int tsOffset = isn().timestampOffset(localAddr, l.port, remoteAddr, h.sourcePort());
        TcpConnection c = new TcpConnection(this, cfg, localAddr, l.port, remoteAddr, h.sourcePort(), false, ext, iss,
                tsOffset);
        List<TcpOption> extOptions = ext == null ? (d.extensionState() == 0 ? List.of() : null)
                : ext.synAckOptionsFromCookie(d.extensionState());
        if (extOptions == null) {
            stats.synCookiesFailed++;
            return false; // the connection was never entered anywhere and holds no memory
        }
        stats.synCookiesValidated++;
        c.listener = l;
        l.halfOpen++;
        conns.put(key, c);
        holding.add(c);
        TcpOption.Timestamps tsOn = d.timestamps() ? ts : null;
        c.openFromCookie(h, d.mss(), tsOn, tsOn == null ? -1 : SynCookies.peerWscale(ts.tsEcr()),
                tsOn != null && SynCookies.sack(ts.tsEcr()), extOptions, now);
        c.onSegment(h, seg.payload(), now);
        afterCall(c);
        return true;
    }

    /** RFC 9293 §3.10.7.1: no connection and no listener. */
    private void closedSegment(TcpSegment seg) {
        TcpHeader h = seg.tcp();
        if (h.has(TcpFlags.RST)) {
            return; // "An incoming segment containing a RST is discarded"
        }
        stats.noConnection++;
        if (h.has(TcpFlags.ACK)) {
            sendRst(localAddr, h.destinationPort(), seg.ip().source(), h.sourcePort(), h.ack(), 0, false);
        } else {
            int segLen = seg.payloadLength() + (h.has(TcpFlags.SYN) ? 1 : 0) + (h.has(TcpFlags.FIN) ? 1 : 0);
            sendRst(localAddr, h.destinationPort(), seg.ip().source(), h.sourcePort(), 0, h.seq() + segLen, true);
        }
    }

    /**
     * Starts a batch of arrivals (the packets a link had queued): until {@link #endBatch}, each
     * connection takes in what arrives and decides what to send once, with all the batch said,
     * rather than after every segment. A backlog of ACKs (a loop that fell behind) must not make
     * each stale ACK trigger retransmissions that the next one in the queue would have cancelled.
     */
    public void beginBatch() {
        batching = true;
    }

    /** Ends the batch: every connection that took segments in it detects loss and sends now. */
    public void endBatch(long now) {
        batching = false;
        TcpConnection c;
        while ((c = batched.pollFirst()) != null) {
            c.inBatch = false;
            c.endOfInput(now);
            afterCall(c);
        }
    }

    boolean batching() {
        return batching;
    }

    /** {@code c} took input in this batch; it sends at {@link #endBatch}. */
    void deferOutput(TcpConnection c) {
        if (!c.inBatch) {
            c.inBatch = true;
            batched.addLast(c);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Timers
    // ------------------------------------------------------------------------------------------

    /** Runs every timer due at {@code now}. */
    public void poll(long now) {
        while (!timerHeap.isEmpty() && timerHeap.peek().at - now <= 0) {
            TimerEntry e = timerHeap.poll();
            TcpConnection c = e.c;
            if (e.at != c.scheduledAt) {
                continue; // superseded by an earlier entry
            }
            c.scheduledAt = Long.MAX_VALUE;
            c.onTimers(now);
            reschedule(c);
        }
        dispatchEvents();
    }

    /** The earliest time {@link #poll} has work, or {@link Long#MAX_VALUE}. */
    public long pollAt() {
        while (!timerHeap.isEmpty()) {
            TimerEntry e = timerHeap.peek();
            if (e.at != e.c.scheduledAt) {
                timerHeap.poll();
                continue;
            }
            return e.at;
        }
        return Long.MAX_VALUE;
    }

    private void reschedule(TcpConnection c) {
        long t = c.state() == TcpState.CLOSED ? Long.MAX_VALUE : c.pollAt();
        if (t < c.scheduledAt) {
            c.scheduledAt = t;
            timerHeap.add(new TimerEntry(t, c));
        } else if (t == Long.MAX_VALUE) {
            c.scheduledAt = Long.MAX_VALUE;
        }
    }

    // ------------------------------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------------------------------

    /** The next outgoing IPv4 packet, <b>owned by the caller</b>, or {@code null} when none is queued. */
    public ByteBuf pollTransmit() {
        return txQueue.pollFirst();
    }

    /** Packets waiting in {@link #pollTransmit()}. */
    public int transmitQueueSize() {
        return txQueue.size();
    }

    /** @param payload owned: released here (may be null) */
    void transmit(int src, int dst, TcpHeader h, ByteBuf payload) {
        try {
            int len = 20 + h.headerLength() + (payload == null ? 0 : payload.readableBytes());
            ByteBuf out = alloc.buffer(len, len);
            TcpSegment.emit(out, src, dst, ipId++, h, payload);
            txQueue.addLast(out);
            stats.packetsOut++;
            if (log.isTraceEnabled()) {
                log.trace("out {}:{} > {}:{} {}", Ipv4Address.format(src), h.sourcePort(), Ipv4Address.format(dst),
                        h.destinationPort(), h);
            }
        } finally {
            if (payload != null) {
                payload.release();
            }
        }
    }

    void sendRst(int src, int srcPort, int dst, int dstPort, int seq, int ack, boolean withAck) {
        stats.rstsSent++;
        int flags = TcpFlags.RST | (withAck ? TcpFlags.ACK : 0);
        transmit(src, dst, TcpHeader.of(srcPort, dstPort, seq, withAck ? ack : 0, flags, 0, List.of()), null);
    }

    // ------------------------------------------------------------------------------------------
    // Bookkeeping and events
    // ------------------------------------------------------------------------------------------

    void markEvent(TcpConnection c, int ev) {
        if (c.pendingEvents == 0) {
            eventQueue.addLast(c);
        }
        c.pendingEvents |= ev;
    }

    void markAcceptable(TcpListener l) {
        if (!l.acceptablePending) {
            l.acceptablePending = true;
            acceptEvents.addLast(l);
        }
    }

    void afterCall(TcpConnection c) {
        reschedule(c);
        dispatchEvents();
    }

    private void dispatchEvents() {
        if (dispatching) {
            return;
        }
        dispatching = true;
        try {
            while (!eventQueue.isEmpty() || !acceptEvents.isEmpty()) {
                TcpListener l = acceptEvents.pollFirst();
                if (l != null) {
                    l.acceptablePending = false;
                    if (!l.acceptQueue.isEmpty() && !l.closed) {
                        l.onAcceptable().accept(l);
                    }
                    continue;
                }
                TcpConnection c = eventQueue.pollFirst();
                int ev = c.pendingEvents;
                c.pendingEvents = 0;
                ConnectionEvents e = c.events();
                if ((ev & EV_ESTABLISHED) != 0) {
                    e.onEstablished(c);
                }
                if ((ev & EV_READABLE) != 0) {
                    e.onReadable(c);
                }
                if ((ev & EV_WRITABLE) != 0 && c.writableBytes() > 0) {
                    e.onWritable(c);
                }
                if ((ev & EV_CLOSED) != 0) {
                    e.onClosed(c, c.error());
                }
            }
        } finally {
            dispatching = false;
        }
    }

    /** A connection reached CLOSED: out of the demultiplexer; its memory goes when nobody needs it. */
    void connectionClosed(TcpConnection c, boolean halfOpenPassive) {
        Key k = new Key(c.remoteAddr, c.remotePort, c.localPort);
        if (conns.get(k) == c) {
            conns.remove(k);
        }
        c.scheduledAt = Long.MAX_VALUE;
        if (halfOpenPassive || !c.holdsData()) {
            c.releaseAll();
        }
    }

    void connectionReleased(TcpConnection c) {
        holding.remove(c);
    }

    /** Releases every buffer and forgets every connection and listener (no segments are sent). */
    @Override
    public void close() {
        closed = true;
        for (TcpConnection c : new ArrayList<>(holding)) {
            if (c.state() != TcpState.CLOSED) {
                c.becomeClosed(TcpError.ENDPOINT_CLOSED);
            }
            c.releaseAll();
        }
        holding.clear();
        conns.clear();
        listeners.clear();
        ByteBuf b;
        while ((b = txQueue.pollFirst()) != null) {
            b.release();
        }
        timerHeap.clear();
        eventQueue.clear();
        acceptEvents.clear();
    }
}
