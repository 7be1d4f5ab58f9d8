package io.opsec.stack.tcp;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP connection: the transmission control block and the event processing of RFC 9293
 * §3.10, with RFC 5961, RFC 6298, RFC 7323, RFC 2018/6675 and RFC 5681/6582 folded in.
 *
 * <p>Pure: no threads, locks, clock reads or I/O. Every method takes the caller's time; segments
 * go out through the owning {@link TcpEndpoint}'s transmit queue. Not thread-safe: call it from
 * the thread that drives the endpoint.
 */
public final class TcpConnection {
    private static final Logger log = LoggerFactory.getLogger(TcpConnection.class);
    /** RFC 5681 §3.2 / RFC 6675 §2: DupThresh. */
    static final int DUP_THRESH = 3;
    /** RFC 8985 §7.2 WCDelAckT: the peer's worst-case delayed ACK, added when one segment is out. */
    static final long TLP_DELAYED_ACK = 200_000_000L;
    /** Least PTO (Linux's 10 ms), so a probe never races an ACK on a short path. */
    static final long TLP_MIN_PTO = 10_000_000L;
    /** RFC 7323 §5.5: a TS.Recent older than 24 days is invalid. */
    static final long PAWS_IDLE_NANOS = 24L * 24 * 3600 * 1_000_000_000L;
    /** RFC 9293 §3.7.1 (MUST-15): the send MSS when the peer sends no MSS option. */
    static final int DEFAULT_MSS = 536;
    /** Lower bound on the peer's MSS, against tiny-segment resource attacks (Linux tcp_min_snd_mss is 48). */
    static final int MIN_PEER_MSS = 64;
    private static final TcpOption NOP = new TcpOption.Nop();

    final TcpEndpoint endpoint;
    private final TcpConfig cfg;
    final int localAddr;
    final int localPort;
    final int remoteAddr;
    final int remotePort;
    private TcpState state;
    private final boolean activeOpen;
    TcpListener listener;           // passive opens, until accepted or gone
    private final TcpExtension ext;
    private ConnectionEvents events = ConnectionEvents.NONE;
    private TcpError error;
    private boolean userClosed;     // close(): the user reads no more
    private boolean outputShutdown; // shutdownOutput() or close(): FIN queued
    long scheduledAt = Long.MAX_VALUE; // the endpoint's timer-heap bookkeeping
    boolean inBatch;                   // the endpoint's batch bookkeeping (beginBatch/endBatch)
    private boolean lossCheckDue;      // RACK runs at the end of the batch
    int pendingEvents;               // the endpoint's event bookkeeping
    boolean released;

    // RFC 9293 §3.3.1 send sequence variables.
    private int iss;
    private int sndUna;
    private int sndNxt;
    private long sndWnd;
    private int sndWl1;
    private int sndWl2;
    private long maxSndWnd;
    // RFC 9293 §3.3.1 receive sequence variables; the window is kept as its right edge.
    private int irs;
    private int rcvNxt;
    private int rcvAdvRight;
    // Options (RFC 7323, RFC 2018, RFC 9293 §3.7.1).
    private boolean wsOk;
    private boolean tsOk;
    private boolean sackOk;
    private int sndWscale;
    private int rcvWscale;
    private int peerMss = DEFAULT_MSS;
    private int smss;
    private int tsOffset;
    private int tsRecent;
    private long tsRecentAt = Long.MIN_VALUE;
    private boolean tsRecentValid;
    private int lastAckSent;

    // Send stream: bytes [queueSeq, queueSeq + sendQueue.size()), then the FIN if finQueued.
    private final SendQueue sendQueue;
    private int queueSeq;
    private boolean finSent;
    // Receive side.
    private final ReceiveBuffer rcvBuf;
    private boolean finReceived;
    private boolean oooFin;
    private int oooFinSeq;
    private int rcvMssSeen = DEFAULT_MSS;
    private boolean dsackPending;   // RFC 2883 §4: a duplicate arrived; the next ACK reports it first
    private int dsackLeft;
    private int dsackRight;

    // Timers and their counters.
    private final TcpTimer.Deadlines timers = new TcpTimer.Deadlines();
    private final RttEstimator rtt;
    private int synAttempt;
    private List<TcpOption> synExtOptions = List.of();
    private List<TcpOption> synAckExtOptions = List.of();
    private int retransmits;      // consecutive RTO expirations without progress
    private long progressAt;      // last time SND.UNA advanced, or data went out from idle
    private boolean rttTiming;
    private int rttSeq;
    private long rttStart;
    private int persistBackoff;
    private int persistProbes;
    private long lastReceivedAt;
    private long lastSentAt;
    private int keepProbes;
    private boolean keepAlive;
    private long keepIdle;
    private long keepInterval;
    private int keepCount;
    private boolean noDelay;
    // ACK policy.
    private boolean ackNow;
    private int unackedBytes;
    // RFC 5961 §7 per-connection challenge ACK limit.
    private long challengeWindowStart = Long.MIN_VALUE;
    private int challengeCount;
    // Linux's tcp_invalid_ratelimit: when an unacceptable segment without data was last answered.
    private long lastInvalidAckAt = Long.MIN_VALUE;

    // Congestion control and loss recovery (RFC 5681, RFC 6582, RFC 6675).
    private CongestionControl cc;
    private final Scoreboard scoreboard = new Scoreboard();
    private int dupAcks;
    private boolean inRecovery;
    private int recoveryPoint;
    private boolean recoveryPointValid;
    private int highRxt;
    private int lostHigh;     // unSACKed bytes below this are lost (RTO, NewReno partial ACK, RACK)
    private final Rack rack = new Rack();
    // RFC 6937 PRR's slow-start reduction bound during SACK recovery (see prrUpdate).
    private long prrCwnd;           // the window sending obeys in recovery: pipe + sndcnt
    private long prrPending;        // bytes delivered by ACKs not yet counted
    // RFC 8985 §7 Tail Loss Probe.
    private boolean probeDue;       // new data went out or SND.UNA advanced: (re)schedule the PTO
    private boolean sendingProbe;
    private boolean tlpInFlight;    // TLP.end_seq is set: a probe awaits its answer
    private int tlpEndSeq;
    private boolean tlpIsRetrans;
    private int tlpTs;              // the TSval the probe carried
    private long tlpFlight;         // the flight when it went
    // Spurious retransmission detection (RFC 3708 D-SACK, RFC 3522 timestamps) and undo (RFC 4015).
    private boolean undoValid;      // the current loss episode may still prove spurious
    private int undoMarker;         // SND.UNA when it began
    private int undoHigh;           // the end of its highest retransmission
    private long priorCwnd;
    private long priorSsthresh;
    private int undoRetrans;        // its retransmitted segments no D-SACK has reported yet
    private boolean retransTsSet;
    private int retransTs;          // RFC 3522 RetransmitTS: the TSval of its first retransmission
    private long retransAt;         // and when it went, in nanoseconds
    private boolean eifelArmed;     // the first ACK for that retransmission is still to come

    TcpConnection(TcpEndpoint endpoint, TcpConfig cfg, int localAddr, int localPort, int remoteAddr, int remotePort,
                  boolean activeOpen, TcpExtension ext, int iss, int tsOffset) {
        this.endpoint = endpoint;
        this.cfg = cfg;
        this.localAddr = localAddr;
        this.localPort = localPort;
        this.remoteAddr = remoteAddr;
        this.remotePort = remotePort;
        this.activeOpen = activeOpen;
        this.ext = ext;
        this.iss = iss;
        this.tsOffset = tsOffset;
        this.sndUna = iss;
        this.sndNxt = iss;
        this.queueSeq = iss + 1;
        this.highRxt = iss;
        this.lostHigh = iss;
        this.sendQueue = new SendQueue(endpoint.alloc(), cfg.sendBufferSize());
        this.rcvBuf = new ReceiveBuffer(endpoint.alloc(), cfg.receiveBufferSize());
        this.rtt = new RttEstimator(cfg.initialRtoNanos(), cfg.minRtoNanos(), cfg.maxRtoNanos());
        this.noDelay = cfg.noDelay();
        this.keepAlive = cfg.keepAlive();
        this.keepIdle = cfg.keepIdleNanos();
        this.keepInterval = cfg.keepIntervalNanos();
        this.keepCount = cfg.keepCount();
        this.state = TcpState.CLOSED;
        this.rcvWscale = windowShift(cfg);
        this.smss = cfg.mss();
        this.cc = cfg.congestion().create(smss, initialWindow(smss));        if (ext != null) {
            ext.attach(this);
        }
    }

    private static long initialWindow(int smss) {
        // RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)); the segment count is configurable.
        return Math.min(10L * smss, Math.max(2L * smss, 14600));
    }

    // ------------------------------------------------------------------------------------------
    // Public API
    // ------------------------------------------------------------------------------------------

    public TcpState state() {
        return state;
    }

    public int localAddress() {
        return localAddr;
    }

    public int localPort() {
        return localPort;
    }

    public int remoteAddress() {
        return remoteAddr;
    }

    public int remotePort() {
        return remotePort;
    }

    /** Whether this side sent the first SYN. */
    public boolean isActiveOpen() {
        return activeOpen;
    }

    /** Why the connection failed, or {@code null} while open or after an orderly close. */
    public TcpError error() {
        return error;
    }

    /** The handshake extension given at connect or listen time, or {@code null}. */
    public TcpExtension extension() {
        return ext;
    }

    /** Installs the readiness callbacks (see {@link ConnectionEvents} for when they run). */
    public void setEvents(ConnectionEvents events) {
        this.events = events == null ? ConnectionEvents.NONE : events;
    }

    ConnectionEvents events() {
        return events;
    }

    /**
     * Queues bytes for sending: copies as many readable bytes of {@code data} as the send buffer
     * has room for and advances its reader index by that much.
     *
     * @param data borrowed: the caller keeps ownership and releases it
     * @return bytes accepted (0 when the buffer is full); -1 when the connection can no longer
     *         send (closed, reset, or output shut down)
     */
    public int send(ByteBuf data, long now) {
        if (!state.canSend() || outputShutdown) {
            return -1;
        }
        int n = sendQueue.append(data);
        if (n > 0 && state.isSynchronized()) {
            output(now);
        }
        endpoint.afterCall(this);
        return n;
    }

    /**
     * Takes up to {@code max} received bytes in order. Opens the receive window as it frees
     * space, sending a window update when the right edge may move by at least
     * min(buffer/2, MSS) (RFC 9293 §3.8.6.2.2, receiver SWS avoidance).
     *
     * @return a buffer the <b>caller owns</b> and must release, or {@code null} when nothing is
     *         readable (check {@link #isInputEnded()} for end of stream)
     */
    public ByteBuf read(int max, long now) {
        ByteBuf b = rcvBuf.read(max);
        if (b != null && state.isSynchronized() && state != TcpState.TIME_WAIT && !finReceived) {
            if (windowUpdateWorthSending()) {
                ackNow = true;
                output(now);
            }
        }
        if (state == TcpState.CLOSED && !holdsData()) {
            releaseAll();
        }
        endpoint.afterCall(this);
        return b;
    }

    /** Bytes ready for {@link #read}. */
    public int readableBytes() {
        return rcvBuf.readableBytes();
    }

    /** Room in the send buffer, in bytes; 0 when the connection cannot send. */
    public int writableBytes() {
        return state.canSend() && !outputShutdown ? sendQueue.free() : 0;
    }

    /** Bytes queued and not yet acknowledged (sent or not). */
    public int unacknowledgedBytes() {
        return sendQueue.size();
    }

    /** The peer's FIN arrived and everything before it has been read: end of stream. */
    public boolean isInputEnded() {
        return (finReceived && rcvBuf.readableBytes() == 0) || (state == TcpState.CLOSED && rcvBuf.readableBytes() == 0);
    }

    /** The connection is finished for the user: CLOSED or TIME-WAIT. */
    public boolean isClosed() {
        return state == TcpState.CLOSED || state == TcpState.TIME_WAIT;
    }

    /**
     * Half-close (RFC 9293 §3.10.4): a FIN follows the queued data; reading continues. Idempotent.
     */
    public void shutdownOutput(long now) {
        switch (state) {
            case SYN_SENT -> {
                // Nothing was sent beyond the SYN: no connection to close gracefully.
                outputShutdown = true;
                becomeClosed(null);
            }
            case SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT -> {
                if (!outputShutdown) {
                    outputShutdown = true;
                    if (state == TcpState.ESTABLISHED) {
                        setState(TcpState.FIN_WAIT_1);
                    } else if (state == TcpState.CLOSE_WAIT) {
                        setState(TcpState.LAST_ACK);
                    }
                    // In SYN-RECEIVED the FIN waits for ESTABLISHED (RFC 9293 §3.10.4).
                    output(now);
                }
            }
            default -> { }
        }
        endpoint.afterCall(this);
    }

    /**
     * Full close (RFC 9293 §3.10.4): no more reading or writing; queued data is sent, then a FIN.
     * If unread data is waiting, or data arrives later, the connection is reset instead
     * (RFC 2525 §2.17, as Linux does), since nobody will read it.
     */
    public void close(long now) {
        if (released) {
            return;
        }
        userClosed = true;
        if (state == TcpState.LISTEN || state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
            rcvBuf.release();
            if (state == TcpState.CLOSED) {
                releaseAll();
            }
            endpoint.afterCall(this);
            return;
        }
        if (rcvBuf.readableBytes() > 0 || rcvBuf.outOfOrderBytes() > 0) {
            abortWith(TcpError.ABORTED, now);
            endpoint.afterCall(this);
            return;
        }
        shutdownOutput(now);
        if (state == TcpState.FIN_WAIT_2 && cfg.finWait2TimeoutNanos() > 0) {
            timers.set(TcpTimer.FIN_WAIT_2, now + cfg.finWait2TimeoutNanos());
        }
        endpoint.afterCall(this);
    }

    /** Abort (RFC 9293 §3.10.5): a RST if synchronized, everything discarded, error ABORTED. */
    public void abort(long now) {
        if (state != TcpState.CLOSED && state != TcpState.TIME_WAIT) {
            abortWith(TcpError.ABORTED, now);
        } else {
            releaseAll();
        }
        endpoint.afterCall(this);
    }

    /** Nagle's algorithm off ({@code true}) or on (RFC 9293 §3.7.4, SHLD-7). */
    public void setNoDelay(boolean noDelay, long now) {
        this.noDelay = noDelay;
        if (noDelay && state.isSynchronized()) {
            output(now);
        }
        endpoint.afterCall(this);
    }

    public boolean noDelay() {
        return noDelay;
    }

    /** Keepalive on or off with the endpoint's idle/interval/count (RFC 9293 §3.8.4). */
    public void setKeepAlive(boolean on, long now) {
        setKeepAlive(on, keepIdle, keepInterval, keepCount, now);
    }

    /** Keepalive with explicit idle time, probe interval and probe count. */
    public void setKeepAlive(boolean on, long idleNanos, long intervalNanos, int count, long now) {
        this.keepAlive = on;
        this.keepIdle = idleNanos;
        this.keepInterval = intervalNanos;
        this.keepCount = Math.max(1, count);
        keepProbes = 0;
        armKeepAlive(now);
        endpoint.afterCall(this);
    }

    public boolean keepAlive() {
        return keepAlive;
    }

    /** When this connection next needs {@link TcpEndpoint#poll}, or {@link Long#MAX_VALUE}. */
    public long pollAt() {
        return timers.earliest();
    }

    /** A snapshot of the control block, for traces and tests. */
    public Info info() {
        return new Info(state, iss, irs, sndUna, sndNxt, sndWnd, rcvNxt, rcvWindow(), rtt.srtt(), rtt.rttvar(),
                rtt.rto(), cc.cwnd(), cc.ssthresh(), smss, sndWscale, rcvWscale, tsOk, sackOk, inRecovery,
                pipe(), retransmits);
    }

    /**
     * The control block's numbers: sequence variables raw (compare with SeqNum), windows in bytes,
     * times in nanoseconds.
     */
    public record Info(TcpState state, int iss, int irs, int sndUna, int sndNxt, long sndWnd, int rcvNxt, long rcvWnd,
                       long srtt, long rttvar, long rto, long cwnd, long ssthresh, int smss, int sndWscale,
                       int rcvWscale, boolean timestamps, boolean sack, boolean inRecovery, long pipe,
                       int retransmits) {
        @Override
        public String toString() {
            return state + " snd.una=" + SeqNum.toString(sndUna) + " snd.nxt=" + SeqNum.toString(sndNxt) + " snd.wnd="
                    + sndWnd + " rcv.nxt=" + SeqNum.toString(rcvNxt) + " rcv.wnd=" + rcvWnd + " srtt="
                    + srtt / 1000 + "us rto=" + rto / 1000 + "us cwnd=" + cwnd + " ssthresh=" + ssthresh
                    + " pipe=" + pipe + (inRecovery ? " recovery" : "");
        }
    }

    @Override
    public String toString() {
        return "TcpConnection[" + io.opsec.stack.wire.Ipv4Address.format(localAddr) + ":" + localPort + " > "
                + io.opsec.stack.wire.Ipv4Address.format(remoteAddr) + ":" + remotePort + " " + state + "]";
    }

    // ------------------------------------------------------------------------------------------
    // Opening
    // ------------------------------------------------------------------------------------------

    /** Active OPEN (RFC 9293 §3.10.1): send a SYN, enter SYN-SENT. */
    void openActive(long now) {
        setState(TcpState.SYN_SENT);
        sndNxt = iss + 1;
        synAttempt = 0;
        synExtOptions = ext == null ? List.of() : List.copyOf(ext.synOptions(0));
        sendSyn(now);
        timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        progressAt = now;
    }

    /**
     * A SYN arrived at a listener (RFC 9293 §3.10.7.2): record the peer's ISN and options, answer
     * with a SYN-ACK, enter SYN-RECEIVED.
     */
    void openPassive(TcpHeader syn, long now) {
        irs = syn.seq();
        rcvNxt = irs + 1;
        lastReceivedAt = now;
        negotiateOptions(syn, true, now);
        rcvAdvRight = rcvNxt + synWindow();
        setState(TcpState.SYN_RECEIVED);
        sndNxt = iss + 1;
        synAckExtOptions = ext == null ? List.of() : List.copyOf(ext.synAckOptions(syn, false));
        sendSynAck(now);
        timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        progressAt = now;
    }

    /**
     * A connection made from a valid SYN cookie (RFC 4987 §3.6), with what the cookie and the ACK's
     * TSecr gave back of the SYN: it enters SYN-RECEIVED as if it had sent that SYN-ACK, and the
     * caller then hands it the ACK, which RFC 9293 §3.10.7.4 processing makes ESTABLISHED.
     *
     * @param ack        the segment that carried the cookie
     * @param peerMss    the peer's MSS, rounded down to the cookie table
     * @param ts         the ACK's timestamps when the SYN-ACK carried them, else null
     * @param peerWscale the peer's window shift, -1 when window scaling is off
     * @param extOptions the extension's options on the SYN-ACK, rebuilt from the cookie
     */
    void openFromCookie(TcpHeader ack, int peerMss, TcpOption.Timestamps ts, int peerWscale, boolean sack,
                        List<TcpOption> extOptions, long now) {
        irs = ack.seq() - 1;
        rcvNxt = ack.seq();
        lastReceivedAt = now;
        applyPeerOptions(peerMss, peerWscale, ts, sack, now);
        rcvAdvRight = rcvNxt + synWindow();
        setState(TcpState.SYN_RECEIVED);
        sndNxt = iss + 1;
        synAckExtOptions = List.copyOf(extOptions);
        synAttempt = 1; // the SYN-ACK was not timed here: no RTT sample from the handshake (as Karn)
        timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        progressAt = now;
    }

    private int synWindow() {
        return synWindow(cfg);
    }

    /** RFC 7323 §2.2: the window in a SYN or SYN-ACK is never scaled. */
    static int synWindow(TcpConfig cfg) {
        return Math.min(cfg.receiveBufferSize(), 0xFFFF);
    }

    /** Our window shift when the peer agrees to window scaling: enough for the whole receive buffer. */
    static int windowShift(TcpConfig cfg) {
        int wscale = 0;
        if (cfg.windowScaling()) {
            while (wscale < 14 && (cfg.receiveBufferSize() >> wscale) > 0xFFFF) {
                wscale++;
            }
        }
        return wscale;
    }

    /** Reads the peer's SYN options: MSS, window scale, timestamps, SACK-permitted. */
    private void negotiateOptions(TcpHeader syn, boolean weAnswer, long now) {
        TcpOption.Mss mss = syn.option(TcpOption.Mss.class);
        TcpOption.WindowScale ws = syn.option(TcpOption.WindowScale.class);
        applyPeerOptions(mss == null ? DEFAULT_MSS : mss.mss(), ws == null ? -1 : ws.shift(),
                syn.option(TcpOption.Timestamps.class), syn.option(TcpOption.SackPermitted.class) != null, now);
    }

    /** The peer's handshake options, as far as our configuration agrees to them; -1: no window scale. */
    private void applyPeerOptions(int mss, int peerWscale, TcpOption.Timestamps ts, boolean sack, long now) {
        peerMss = Math.max(MIN_PEER_MSS, mss); // RFC 9293 MUST-15 (the caller passes 536 when absent)
        wsOk = cfg.windowScaling() && peerWscale >= 0;
        if (wsOk) {
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            sndWscale = Math.min(peerWscale, 14);
        } else {
            sndWscale = 0;
            rcvWscale = 0;
        }
        tsOk = cfg.timestamps() && ts != null;
        if (tsOk) {
            tsRecent = ts.tsVal();
            tsRecentAt = now;
            tsRecentValid = true;
        }
        sackOk = cfg.sack() && sack;
        smss = Math.min(peerMss, cfg.mss()) - (tsOk ? 12 : 0);
        cc = cfg.congestion().create(smss, Math.min(cfg.initialWindowSegments() * (long) smss,
                Math.max(2L * smss, cfg.initialWindowSegments() >= 10 ? 14600 : 0)));
    }

    private List<TcpOption> handshakeOptions(boolean synAck, List<TcpOption> extOptions, long now) {
        boolean ts = synAck ? tsOk : cfg.timestamps();
        boolean sack = synAck ? sackOk : cfg.sack();
        boolean ws = synAck ? wsOk : cfg.windowScaling();
        TcpOption.Timestamps tso = ts ? new TcpOption.Timestamps(tsNow(now), synAck ? tsRecent : 0) : null;
        return handshakeOptions(cfg.mss(), sack, tso, ws ? rcvWscale : -1, extOptions);
    }

    /**
     * The options of a SYN or SYN-ACK in Linux's layout (mss, sackOK, TS, nop, wscale: 20 bytes),
     * then the extension's when they fit.
     *
     * @param ts     null for none
     * @param wscale our window shift, -1 for none
     */
    static List<TcpOption> handshakeOptions(int mss, boolean sack, TcpOption.Timestamps ts, int wscale,
                                            List<TcpOption> extOptions) {
        List<TcpOption> o = new ArrayList<>(8);
        o.add(new TcpOption.Mss(mss));
        if (ts != null && sack) {
            o.add(new TcpOption.SackPermitted());
            o.add(ts);
        } else if (ts != null) {
            o.add(NOP);
            o.add(NOP);
            o.add(ts);
        } else if (sack) {
            o.add(NOP);
            o.add(NOP);
            o.add(new TcpOption.SackPermitted());
        }
        if (wscale >= 0) {
            o.add(NOP);
            o.add(new TcpOption.WindowScale(wscale));
        }
        if (TcpOptions.paddedLength(o) + TcpOptions.length(extOptions) <= TcpOptions.MAX_LENGTH) {
            o.addAll(extOptions);
        } else {
            log.warn("extension options {} do not fit beside {}; sent without them", extOptions, o);
        }
        return o;
    }

    private void sendSyn(long now) {
        emit(iss, TcpFlags.SYN, null, handshakeOptions(false, synExtOptions, now), synWindow(), now);
    }

    private void sendSynAck(long now) {
        lastAckSent = rcvNxt;
        emit(iss, TcpFlags.SYN | TcpFlags.ACK, null, handshakeOptions(true, synAckExtOptions, now), synWindow(), now);
    }

    // ------------------------------------------------------------------------------------------
    // Segment arrival (RFC 9293 §3.10.7)
    // ------------------------------------------------------------------------------------------

    /**
     * Processes one segment for this connection.
     *
     * @param payload borrowed: a slice of the packet, valid only during the call
     */
    void onSegment(TcpHeader h, ByteBuf payload, long now) {
        if (state == TcpState.SYN_SENT) {
            onSegmentSynSent(h, payload, now);
            return;
        }
        if (state == TcpState.CLOSED || state == TcpState.LISTEN) {
            return;
        }
        int payloadLen = payload.readableBytes();
        boolean rst = h.has(TcpFlags.RST);
        boolean syn = h.has(TcpFlags.SYN);
        boolean fin = h.has(TcpFlags.FIN);
        int seq = h.seq();
        int segLen = payloadLen + (syn ? 1 : 0) + (fin ? 1 : 0);
        TcpOption.Timestamps ts = tsOk ? h.option(TcpOption.Timestamps.class) : null;

        // RFC 7323 §5.3 R1: PAWS, before the acceptability test.
        if (ts != null && !rst && tsRecentValid && SeqNum.lt(ts.tsVal(), tsRecent)) {
            if (now - tsRecentAt > PAWS_IDLE_NANOS) {
                tsRecentValid = false; // RFC 7323 §5.5
            } else if (disorderedDupAck(h, payloadLen, ts)) {
                // DEVIATION: RFC 7323 §5.3 R1 drops it. Like Linux (tcp_disordered_ack) we take a
                // pure duplicate ACK overtaken by a later one: it changes no sequence variable or
                // window, and its SACK and D-SACK blocks are what loss detection runs on.
            } else {
                endpoint.stats.pawsRejected++;
                ackUnacceptable(segLen, syn, now);
                return;
            }
        }
        // DEVIATION: RFC 7323 §3.2 says a non-RST segment without timestamps on a timestamped
        // connection SHOULD be dropped; like Linux we accept it, since middleboxes strip options.

        // SYN-RECEIVED: a retransmitted SYN means our SYN-ACK was lost; send it again.
        if (state == TcpState.SYN_RECEIVED && syn && !h.has(TcpFlags.ACK) && !rst && seq == irs) {
            retransmitHandshake(now);
            return;
        }

        // Simultaneous open (RFC 9293 Figure 8, line 5): the peer's SYN-ACK acknowledges our SYN,
        // but the strict acceptability test would reject it since its SYN lies before RCV.NXT.
        // Accept it for its ACK, as Linux does (tcp_validate_incoming).
        if (state == TcpState.SYN_RECEIVED && activeOpen && syn && h.has(TcpFlags.ACK) && !rst && !fin
                && payloadLen == 0 && seq + 1 == rcvNxt && h.ack() == sndNxt) {
            if (ext != null && ext.onSegment(h, payloadLen, state) == TcpExtension.Verdict.ABORT) {
                endpoint.stats.extensionAborts++;
                abortWith(TcpError.EXTENSION, now);
                return;
            }
            sndWnd = (long) h.window() << sndWscale;
            maxSndWnd = Math.max(maxSndWnd, sndWnd);
            sndWl1 = seq;
            sndWl2 = h.ack();
            sndUna = h.ack();
            establish(now);
            // Figure 8 sends nothing more, but then a handshake extension never gets a non-SYN
            // segment to carry its options (OPSEC's selection) and both ends would wait forever.
            // With an extension, one ACK settles it; to the peer it is an ACK of nothing new.
            // Without one, plain RFC 9293 (and Linux): nothing.
            if (ext != null) {
                ackNow = true;
                output(now);
            }
            return;
        }

        // RFC 9293 §3.10.7.4 first: the acceptability test.
        long wnd = rcvWindow();
        boolean acceptable;
        if (segLen == 0) {
            acceptable = wnd == 0 ? seq == rcvNxt : SeqNum.inWindow(seq, rcvNxt, wnd);
        } else if (wnd == 0) {
            // "special allowance should be made to accept valid ACKs, URGs, and RSTs": the
            // segment at RCV.NXT is processed for its control information, its data dropped.
            acceptable = seq == rcvNxt;
        } else {
            acceptable = SeqNum.inWindow(seq, rcvNxt, wnd) || SeqNum.inWindow(seq + segLen - 1, rcvNxt, wnd);
        }
        if (!acceptable) {
            if (rst) {
                return; // RFC 9293 §3.10.7.4: an unacceptable RST is dropped silently
            }
            endpoint.stats.outOfWindow++;
            if (sackOk && payloadLen > 0 && SeqNum.le(seq + payloadLen, rcvNxt)) {
                // RFC 2883 §4: an old duplicate; the ACK below reports it in a D-SACK block.
                dsackPending = true;
                dsackLeft = seq;
                dsackRight = seq + payloadLen;
            }
            // RFC 9293 §3.10.7.4 first: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, then drop.
            if (state == TcpState.TIME_WAIT && fin) {
                timers.set(TcpTimer.TIME_WAIT, now + 2 * cfg.mslNanos());
            }
            // SYN-RECEIVED too: SND.NXT is ISS + 1 there, as Linux's request socket answers.
            ackUnacceptable(segLen, syn, now);
            return;
        }

        // Second: RST (RFC 9293 §3.10.7.4 and RFC 5961 §3.2).
        if (rst) {
            endpoint.stats.rstsReceived++;
            if (seq != rcvNxt) {
                challengeAck(now); // in window but not exact: RFC 5961 §3.2
                return;
            }
            switch (state) {
                case SYN_RECEIVED -> {
                    if (activeOpen) {
                        becomeClosed(TcpError.REFUSED);
                    } else {
                        // "return this connection to the LISTEN state": forget it silently.
                        becomeClosed(null);
                    }
                }
                case ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT -> becomeClosed(TcpError.RESET);
                case CLOSING, LAST_ACK -> becomeClosed(null);
                case TIME_WAIT -> {
                    // DEVIATION: RFC 9293 closes on a RST in TIME-WAIT; we follow RFC 1337 §3 (fix 1)
                    // and ignore it, so a stray RST cannot assassinate TIME-WAIT.
                }
                default -> { }
            }
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4.2; RFC 9293 §3.10.7.4 fourth).
        if (syn) {
            challengeAck(now);
            return;
        }

        // Fifth: the ACK field.
        if (!h.has(TcpFlags.ACK)) {
            return;
        }
        if (ext != null && ext.onSegment(h, payloadLen, state) == TcpExtension.Verdict.ABORT) {
            endpoint.stats.extensionAborts++;
            abortWith(TcpError.EXTENSION, now);
            return;
        }
        int ack = h.ack();
        if (state == TcpState.SYN_RECEIVED) {
            if (SeqNum.lt(sndUna, ack) && SeqNum.le(ack, sndNxt)) {
                // RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: enter ESTABLISHED.
                sndWnd = (long) h.window() << sndWscale;
                maxSndWnd = Math.max(maxSndWnd, sndWnd);
                sndWl1 = seq;
                sndWl2 = ack;
                if (synAttempt == 0 && !tsOk) {
                    rtt.sample(now - progressAt); // the SYN-ACK was not retransmitted (Karn)
                }
                establish(now);
            } else {
                endpoint.stats.badAck++;
                endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, ack, 0, false);
                return;
            }
        }
        lastReceivedAt = now;
        keepProbes = 0;
        if (keepAlive && timers.armed(TcpTimer.KEEPALIVE)) {
            // The idle time counts from the last segment received. (Re-arming from output()
            // instead could pull the deadline into the past and spin: found by random input.)
            timers.set(TcpTimer.KEEPALIVE, now + keepIdle);
        }
        if (!processAck(h, payloadLen, now)) {
            return;
        }
        if (state == TcpState.CLOSED) {
            return;
        }
        // RFC 7323 §4.3 (3): update TS.Recent for an acceptable segment that covers Last.ACK.sent.
        if (ts != null && SeqNum.ge(ts.tsVal(), tsRecent) && SeqNum.le(seq, lastAckSent)) {
            tsRecent = ts.tsVal();
            tsRecentAt = now;
            tsRecentValid = true;
        }

        // Sixth: URG. DEVIATION: the urgent pointer is ignored and urgent data delivered inline,
        // as RFC 6093 §6 recommends for new applications; it never changes how data is handled.

        // Seventh: segment text; eighth: FIN.
        int dataSeq = seq;
        ByteBuf data = payload;
        boolean finHere = fin;
        // Trim what lies before RCV.NXT and beyond the advertised right edge.
        if (SeqNum.lt(dataSeq, rcvNxt)) {
            int skip = rcvNxt - dataSeq;
            if (payloadLen > 0 && sackOk) {
                // RFC 2883 §4: report the duplicate part in the first SACK block of the next ACK.
                dsackPending = true;
                dsackLeft = dataSeq;
                dsackRight = skip >= payloadLen ? dataSeq + payloadLen : rcvNxt;
            }
            if (skip >= payloadLen) {
                data = data.slice(data.readerIndex() + payloadLen, 0);
                if (skip > payloadLen) {
                    finHere = false; // the FIN too lies before RCV.NXT: a duplicate
                }
            } else {
                data = data.slice(data.readerIndex() + skip, payloadLen - skip);
            }
            dataSeq = rcvNxt;
        }
        int room = rcvAdvRight - dataSeq;
        if (room < 0) {
            room = 0;
        }
        if (data.readableBytes() > room) {
            data = data.slice(data.readerIndex(), room);
            finHere = false;
            ackNow = true;
        }
        if (payloadLen > 0 && data.readableBytes() == 0 && !finHere && payloadLen + (fin ? 1 : 0) > 0) {
            ackNow = true; // a duplicate or a zero-window probe: answer at once (RFC 9293 §3.8.6.1)
        }
        if (data.readableBytes() > 0) {
            if (!state.canReceive()) {
                // RFC 9293 §3.10.7.4 seventh: CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT ignore text.
                data = data.slice(data.readerIndex(), 0);
            } else if (userClosed) {
                // RFC 2525 §2.17: data for a fully closed socket: nobody will read it, so reset.
                endpoint.stats.abortOnData++;
                abortWith(TcpError.ABORTED, now);
                return;
            } else {
                receiveData(dataSeq, data, now);
            }
        }
        if (finHere && state != TcpState.CLOSED) {
            int finSeq = seq + payloadLen;
            if (finSeq == rcvNxt) {
                receiveFin(now);
            } else if (SeqNum.gt(finSeq, rcvNxt) && state.canReceive()) {
                oooFin = true;
                oooFinSeq = finSeq;
                ackNow = true;
            } else if (state == TcpState.TIME_WAIT || state == TcpState.CLOSE_WAIT || state == TcpState.CLOSING
                    || state == TcpState.LAST_ACK) {
                // A retransmitted FIN: acknowledge it; TIME-WAIT restarts its 2 MSL.
                ackNow = true;
                if (state == TcpState.TIME_WAIT) {
                    timers.set(TcpTimer.TIME_WAIT, now + 2 * cfg.mslNanos());
                }
            }
        }
        if (endpoint.batching()) {
            endpoint.deferOutput(this); // decide once the whole batch is in (TcpEndpoint.beginBatch)
        } else {
            output(now);
        }
    }

    /**
     * A pure ACK at RCV.NXT that acknowledges SND.UNA exactly, leaves the window as it is, and
     * carries a TSval at most one RTO older than TS.Recent: an ACK that the path reordered.
     */
    private boolean disorderedDupAck(TcpHeader h, int payloadLen, TcpOption.Timestamps ts) {
        if (payloadLen != 0 || h.flags() != TcpFlags.ACK || h.seq() != rcvNxt || h.ack() != sndUna
                || ((long) h.window() << sndWscale) != sndWnd) {
            return false;
        }
        long replay = Math.max(1, rtt.rto() / 1_000_000L); // the RTO in timestamp ticks (1 ms)
        return Integer.toUnsignedLong(tsRecent - ts.tsVal()) <= replay;
    }

    private void onSegmentSynSent(TcpHeader h, ByteBuf payload, long now) {
        // RFC 9293 §3.10.7.3.
        boolean ackOk = false;
        if (h.has(TcpFlags.ACK)) {
            int ack = h.ack();
            if (SeqNum.le(ack, iss) || SeqNum.gt(ack, sndNxt)) {
                if (!h.has(TcpFlags.RST)) {
                    endpoint.stats.badAck++;
                    endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, ack, 0, false);
                }
                return;
            }
            ackOk = true; // SND.UNA < SEG.ACK =< SND.NXT
        }
        if (h.has(TcpFlags.RST)) {
            // RFC 5961 §3.2 leaves SYN-SENT to RFC 9293: an acceptable ACK makes the RST valid.
            if (ackOk) {
                endpoint.stats.rstsReceived++;
                becomeClosed(TcpError.REFUSED);
            }
            return;
        }
        if (!h.has(TcpFlags.SYN)) {
            return;
        }
        if (ext != null && ext.onSegment(h, payload.readableBytes(), state) == TcpExtension.Verdict.ABORT) {
            endpoint.stats.extensionAborts++;
            if (ackOk) {
                endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, h.ack(), 0, false);
            } else {
                endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, 0, h.seq() + 1, true);
            }
            becomeClosed(TcpError.EXTENSION);
            return;
        }
        irs = h.seq();
        rcvNxt = irs + 1;
        lastReceivedAt = now;
        negotiateOptions(h, false, now);
        rcvAdvRight = rcvNxt + synWindow();
        if (ackOk) {
            // RTT from the SYN exchange when it was not retransmitted (Karn), or from TSecr.
            TcpOption.Timestamps ts = h.option(TcpOption.Timestamps.class);
            if (tsOk && ts != null && ts.tsEcr() != 0) {
                rtt.sample(Math.max(0, (long) (tsNow(now) - ts.tsEcr())) * 1_000_000L);
            } else if (synAttempt == 0) {
                rtt.sample(now - progressAt);
            }
            sndUna = h.ack();
            sndWnd = (long) h.window() << sndWscale;
            maxSndWnd = sndWnd;
            sndWl1 = h.seq();
            sndWl2 = h.ack();
            highRxt = sndUna;
            lostHigh = sndUna;
            timers.clear(TcpTimer.RETRANSMIT);
            retransmits = 0;
            establish(now);
            ackNow = true;
            // Data or FIN on the SYN-ACK: RFC 9293 §3.10.7.3 continues at the sixth step.
            int len = payload.readableBytes();
            if (len > 0) {
                int room = Math.min(len, Math.max(0, rcvAdvRight - rcvNxt));
                receiveData(rcvNxt, payload.slice(payload.readerIndex(), room), now);
            }
            if (h.has(TcpFlags.FIN) && len <= rcvAdvRight - (irs + 1)) {
                receiveFin(now);
            }
            output(now);
        } else {
            // Simultaneous open (RFC 9293 §3.10.7.3, Figure 8): SYN-RECEIVED, send SYN-ACK.
            setState(TcpState.SYN_RECEIVED);
            synAckExtOptions = ext == null ? List.of() : List.copyOf(ext.synAckOptions(h, true));
            sendSynAck(now);
            timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        }
    }

    /**
     * The ACK field in a synchronized state (RFC 9293 §3.10.7.4 fifth; RFC 5961 §5.2).
     *
     * @return false when the segment must be dropped
     */
    private boolean processAck(TcpHeader h, int payloadLen, long now) {
        int ack = h.ack();
        // RFC 5961 §5.2: acceptable only within [SND.UNA - MAX.SND.WND, SND.NXT].
        if (SeqNum.gt(ack, sndNxt) || SeqNum.lt(ack, sndUna - (int) Math.min(maxSndWnd, Integer.MAX_VALUE))) {
            endpoint.stats.badAck++;
            challengeAck(now);
            return false;
        }
        long window = (long) h.window() << sndWscale;
        boolean windowChanged = false;
        boolean advanced = SeqNum.gt(ack, sndUna);
        // RFC 9293 §3.10.7.4 fifth: the send window update (SND.WL1/SND.WL2 guard old segments).
        if (SeqNum.le(sndUna, ack)
                && (SeqNum.lt(sndWl1, h.seq()) || (sndWl1 == h.seq() && SeqNum.le(sndWl2, ack)))) {
            windowChanged = window != sndWnd;
            sndWnd = window;
            sndWl1 = h.seq();
            sndWl2 = ack;
            maxSndWnd = Math.max(maxSndWnd, sndWnd);
            if (sndWnd > 0) {
                timers.clear(TcpTimer.PERSIST);
                persistBackoff = 0;
            }
        }
        persistProbes = 0;
        Scoreboard.Update sacks = Scoreboard.Update.NONE;
        if (sackOk) {
            TcpOption.Sack sack = h.option(TcpOption.Sack.class);
            if (sack != null) {
                sacks = scoreboard.update(sack.blocks(), ack, SeqNum.max(ack, sndUna), sndNxt);
            }
        }
        if (tlpInFlight && SeqNum.ge(ack, tlpEndSeq)) {
            onProbeAnswered(h, sacks, now);
        }
        if (sackOk) {
            // RFC 6937 §3 DeliveredData: the change in SND.UNA plus the newly SACKed bytes.
            prrPending += (advanced ? SeqNum.diff(ack, sndUna) : 0) + sacks.newlySacked();
        }
        if (advanced) {
            onNewAck(ack, h, now);
        } else if (ack == sndUna && sndNxt != sndUna && !sackOk) {
            // RFC 5681 §2 "duplicate acknowledgment". With SACK, RFC 6675 §2 counts an ACK only
            // when its SACK blocks report new data (never a D-SACK alone, RFC 2883), and RACK
            // decides loss from that data instead of counting (RFC 8985 §3).
            if (payloadLen == 0 && !h.has(TcpFlags.FIN) && !windowChanged) {
                onDupAck(now);
            }
        }
        if (sackOk && state != TcpState.CLOSED) {
            onSackAck(h, sacks, now);
        }
        if (state == TcpState.CLOSED) {
            return false;
        }
        // FIN acknowledged?
        boolean finAcked = finSent && sndUna == finSeq() + 1;
        switch (state) {
            case FIN_WAIT_1 -> {
                if (finAcked) {
                    setState(TcpState.FIN_WAIT_2);
                    if (userClosed && cfg.finWait2TimeoutNanos() > 0) {
                        timers.set(TcpTimer.FIN_WAIT_2, now + cfg.finWait2TimeoutNanos());
                    }
                }
            }
            case CLOSING -> {
                if (finAcked) {
                    enterTimeWait(now);
                }
            }
            case LAST_ACK -> {
                if (finAcked) {
                    becomeClosed(null);
                    return false;
                }
            }
            default -> { }
        }
        return true;
    }

    private int finSeq() {
        return queueSeq + sendQueue.size();
    }

    private void onNewAck(int ack, TcpHeader h, long now) {
        int acked = ack - sndUna;
        // RTT: RFC 7323 §4 (RTTM) from TSecr, otherwise the timed segment (Karn, RFC 6298 §3).
        TcpOption.Timestamps ts = tsOk ? h.option(TcpOption.Timestamps.class) : null;
        if (ts != null && ts.tsEcr() != 0) {
            int delta = tsNow(now) - ts.tsEcr();
            if (delta >= 0) {
                rtt.sample(Math.max(delta, 0) * 1_000_000L + 500_000L);
            }
        } else if (rttTiming && SeqNum.gt(ack, rttSeq)) {
            rtt.sample(now - rttStart);
            rttTiming = false;
        }
        // Remove acknowledged data from the send queue (the FIN is not in the queue).
        int dataAcked = Math.max(0, Math.min(SeqNum.diff(ack, queueSeq), sendQueue.size()));
        if (dataAcked > 0) {
            sendQueue.discard(dataAcked);
            queueSeq += dataAcked;
            if (state.canSend() && !outputShutdown) {
                endpoint.markEvent(this, TcpEndpoint.EV_WRITABLE);
            }
        }
        sndUna = ack;
        if (SeqNum.lt(highRxt, sndUna)) {
            highRxt = sndUna;
        }
        if (SeqNum.lt(lostHigh, sndUna)) {
            lostHigh = sndUna;
        }
        scoreboard.discardBelow(sndUna);
        retransmits = 0;
        progressAt = now;
        probeDue = true; // RFC 8985 §7.2: an ACK of new data restarts the PTO
        if (undoValid && eifelArmed && SeqNum.gt(ack, undoMarker)) {
            // RFC 3522 §2: the first ACK for the first retransmission of the episode. An echoed
            // timestamp older than that retransmission's says the original arrived: spurious.
            eifelArmed = false;
            if (ts != null && ts.tsEcr() != 0 && SeqNum.lt(ts.tsEcr(), retransTs)) {
                undo(now);
            }
        }
        // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
        if (sndUna == sndNxt) {
            timers.clear(TcpTimer.RETRANSMIT);
        } else {
            timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        }
        if (inRecovery) {
            if (SeqNum.ge(sndUna, recoveryPoint)) {
                // RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery.
                inRecovery = false;
                dupAcks = 0;
                cc.onRecoveryExit(SeqNum.diff(sndNxt, sndUna), now);
                rack.onRecoveryExit();
            } else if (!sackOk) {
                // RFC 6582 §3.2 step 4: a partial ACK; the next segment is lost too.
                lostHigh = SeqNum.max(lostHigh, sndUna + Math.min(smss, SeqNum.diff(sndNxt, sndUna)));
                highRxt = sndUna;
                dupAcks = 0;
                retransmitNext(now, true); // "retransmit the first unacknowledged segment"
            }
        } else {
            dupAcks = 0;
            cc.onAck(acked, now, rtt.srtt()); // also the slow start that follows an RTO
        }
        if (recoveryPointValid && SeqNum.ge(sndUna, recoveryPoint) && !inRecovery) {
            recoveryPointValid = false; // the end of an RTO recovery
            rack.onRecoveryExit();
        }
    }

    /** A duplicate ACK on a connection without SACK (RFC 5681 §3.2, RFC 6582). */
    private void onDupAck(long now) {
        dupAcks++;
        if (inRecovery) {
            return; // RFC 6582 §3.2 step 4: the pipe estimate lets more out in output()
        }
        // RFC 6582 §3.2 step 2 / RFC 6675 §5: no new recovery until SND.UNA passes the old one.
        if (recoveryPointValid && SeqNum.lt(sndUna, recoveryPoint)) {
            return;
        }
        if (dupAcks < DUP_THRESH) {
            return; // RFC 3042 limited transmit: output() sends new data the dupACKs allow
        }
        enterRecovery(now);
    }

    /** RFC 8985 RACK, and D-SACK (RFC 2883, RFC 3708), for one ACK on a SACK connection. */
    private void onSackAck(TcpHeader h, Scoreboard.Update sacks, long now) {
        TcpOption.Timestamps ts = tsOk ? h.option(TcpOption.Timestamps.class) : null;
        long tsEcr = ts != null && ts.tsEcr() != 0 ? ts.tsEcr() : Rack.NONE;
        rack.onAck(sndUna, scoreboard, sacks.newlySacked() > 0, tsEcr, this::tsNow, now);
        if (sacks.dsack()) {
            endpoint.stats.dsacks++;
            rack.onDsack(sndNxt); // RFC 8985 §6.2 step 4: widen the reordering window
            onDsack(sacks.dsackLeft(), sacks.dsackRight(), now);
        }
        if (endpoint.batching()) {
            lossCheckDue = true;
        } else {
            rackDetectLoss(now);
            prrUpdate();
        }
    }

    /**
     * RFC 6937 §3 PRR-SSRB: during SACK recovery, once the pipe is at or below ssthresh, at most
     * one segment more than the last ACKs delivered goes out (slow start's pace), up to ssthresh.
     * A recovery that begins with much of the flight marked lost (RACK on a false alarm, before
     * the undo) so sends a trickle, not a window-sized burst. DEVIATION: above ssthresh this sends
     * nothing, as plain RFC 6675 (cwnd = ssthresh below the pipe), instead of PRR's proportional
     * share: measured against Linux under delay50 the proportional part sent 9 to 52 spurious
     * retransmissions before the undo came, where RFC 6675 sends none or one (and on the
     * simulator's jitter path 84 against 58, for 80% of clean goodput against 92%).
     */
    private void prrUpdate() {
        long delivered = prrPending;
        prrPending = 0;
        if (!inRecovery || !sackOk) {
            return;
        }
        long pipe = pipe();
        long ssthresh = cc.ssthresh();
        long sndcnt = 0;
        if (pipe <= ssthresh) {
            // DEVIATION: RFC 6937 §3 PRR-SSRB bounds by MAX(prr_delivered - prr_out, DeliveredData)
            // + MSS; with nothing sent above ssthresh (see below) prr_out lags the recovery's whole
            // deliveries and that bound let a 27-segment burst out (measured, delay50), so only
            // this ACK's (or batch's) DeliveredData counts: slow start's pace exactly.
            sndcnt = Math.min(ssthresh - pipe, delivered + smss);
        }
        prrCwnd = pipe + Math.max(0, sndcnt);
    }

    /** The window sending obeys: cwnd, or in SACK recovery what PRR allows (RFC 6937). */
    private long sendWindow() {
        return inRecovery && sackOk ? prrCwnd : cc.cwnd();
    }

    /** The end of a batch of arrivals: loss detection with all of them known, then output. */
    void endOfInput(long now) {
        if (state == TcpState.CLOSED) {
            return;
        }
        if (lossCheckDue) {
            lossCheckDue = false;
            if (sackOk && state.isSynchronized()) {
                rackDetectLoss(now);
            }
        }
        prrUpdate();
        output(now);
    }

    /**
     * RFC 8985 §6.2 step 5: marks what RACK finds lost, arms the reordering timer for what may
     * yet be, and starts fast recovery on the first loss (RFC 6675 §5 steps 4.1 to 4.3).
     */
    private void rackDetectLoss(long now) {
        if (sndUna == sndNxt) {
            timers.clear(TcpTimer.REORDER);
            return;
        }
        long reoWnd = rack.reoWnd(sndUna, inRecovery, scoreboard.sackedBetween(sndUna, sndNxt), smss, rtt.srtt());
        long timeout = rack.detectLoss(reoWnd, now);
        if (timeout > 0) {
            timers.set(TcpTimer.REORDER, now + timeout);
        } else {
            timers.clear(TcpTimer.REORDER);
        }
        if (!rack.anyLost()) {
            return;
        }
        int end = SeqNum.min(rack.lostEnd(), sndNxt);
        if (SeqNum.gt(end, lostHigh) || rack.lostRetransmission()) {
            endpoint.stats.rackLosses++;
        }
        if (SeqNum.gt(end, lostHigh)) {
            lostHigh = end;
        }
        if (rack.lostRetransmission() && SeqNum.lt(rack.lostRetransmissionStart(), highRxt)) {
            // RFC 8985 §2.2: RACK also finds lost retransmissions; send them again.
            highRxt = SeqNum.max(rack.lostRetransmissionStart(), sndUna);
        }
        // RFC 6675 §5: no new recovery until SND.UNA passes the old RecoveryPoint.
        if (!inRecovery && !(recoveryPointValid && SeqNum.lt(sndUna, recoveryPoint))) {
            enterRecovery(now);
        }
    }

    /** RFC 6675 §5 steps 4.1 to 4.3 (RFC 6582 §3.2 step 2 without SACK): fast retransmit. */
    private void enterRecovery(long now) {
        endpoint.stats.fastRetransmits++;
        beginUndoEpisode();
        inRecovery = true;
        recoveryPoint = sndNxt;        // RFC 6675 §5 step 4.1 RecoveryPoint = HighData
        recoveryPointValid = true;
        long flight = SeqNum.diff(sndNxt, sndUna);
        cc.onCongestionEvent(flight, now); // step 4.2: ssthresh and cwnd
        prrCwnd = 0; // RFC 6937 §3: the reduction starts with nothing more than the forced retransmission
        highRxt = sndUna;
        lostHigh = SeqNum.max(lostHigh, sndUna + Math.min(smss, SeqNum.diff(sndNxt, sndUna)));
        rttTiming = false; // Karn
        // RFC 6675 §5 step 4.3: retransmit the first segment now, whatever the pipe says.
        retransmitNext(now, true);
    }

    /** A loss episode begins (fast recovery, or an RTO): what an undo would restore (RFC 4015 §3). */
    private void beginUndoEpisode() {
        undoValid = true;
        undoMarker = sndUna;
        undoHigh = sndUna;
        priorCwnd = cc.cwnd();
        priorSsthresh = cc.ssthresh();
        undoRetrans = 0;
        retransTsSet = false;
        eifelArmed = false;
    }

    /**
     * RFC 3708 §2: a D-SACK reports a segment of this episode's retransmissions that arrived twice;
     * once every retransmission is so reported, none was needed.
     */
    private void onDsack(int left, int right, long now) {
        if (!undoValid || undoRetrans <= 0 || SeqNum.lt(left, undoMarker) || SeqNum.gt(right, undoHigh)) {
            return;
        }
        undoRetrans -= Math.max(1, (SeqNum.diff(right, left) + smss - 1) / smss);
        if (undoRetrans <= 0) {
            undo(now);
        }
    }

    /**
     * The episode was spurious: restore the congestion state from before it (RFC 4015 §3, as
     * Linux's undo) and stop retransmitting. After an RTO that means new data follows rather
     * than the rest of the flight again (RFC 4015 §3 "resume transmission with new data").
     */
    private void undo(long now) {
        endpoint.stats.spuriousRecoveries++;
        cc.undo(priorCwnd, priorSsthresh);
        undoValid = false;
        eifelArmed = false;
        rack.onSpurious(sndNxt, retransTsSet ? now - retransAt : 0);
        if (inRecovery) {
            inRecovery = false;
            rack.onRecoveryExit();
        }
        dupAcks = 0;
        recoveryPointValid = false;
        lostHigh = sndUna;
        if (SeqNum.lt(highRxt, sndUna)) {
            highRxt = sndUna;
        }
    }

    private void establish(long now) {
        setState(TcpState.ESTABLISHED);
        timers.clear(TcpTimer.RETRANSMIT);
        retransmits = 0;
        rtt.resetBackoff();
        highRxt = sndUna;
        lostHigh = sndUna;
        if (listener != null) {
            listener.halfOpen--;
            listener.acceptQueue.addLast(this);
            endpoint.markAcceptable(listener);
        }
        if (ext != null) {
            ext.onEstablished(activeOpen);
        }
        endpoint.markEvent(this, TcpEndpoint.EV_ESTABLISHED);
        armKeepAlive(now);
        if (outputShutdown) {
            // A close() during SYN-RECEIVED: the FIN goes now (RFC 9293 §3.10.4).
            setState(TcpState.FIN_WAIT_1);
        }
    }

    private void receiveData(int seq, ByteBuf data, long now) {
        int len = data.readableBytes();
        rcvMssSeen = Math.max(rcvMssSeen, Math.min(len, cfg.mss()));
        if (seq == rcvNxt) {
            boolean hadHole = rcvBuf.hasOutOfOrder();
            rcvNxt += rcvBuf.appendInOrder(data);
            if (hadHole) {
                rcvNxt = rcvBuf.drainInOrder(rcvNxt);
                ackNow = true; // RFC 5681 §4.2: ACK at once for data that fills a hole
            }
            if (oooFin && oooFinSeq == rcvNxt) {
                oooFin = false;
                receiveFin(now);
            }
            endpoint.markEvent(this, TcpEndpoint.EV_READABLE);
            unackedBytes += len;
            // RFC 9293 §3.8.6.3 (SHLD-19): ACK at least every second full-sized segment.
            if (cfg.delayedAckNanos() == 0 || unackedBytes >= 2 * rcvMssSeen) {
                ackNow = true;
            } else if (!timers.armed(TcpTimer.DELAYED_ACK)) {
                timers.set(TcpTimer.DELAYED_ACK, now + cfg.delayedAckNanos());
            }
        } else {
            rcvBuf.insertOutOfOrder(seq, data, rcvNxt);
            ackNow = true; // RFC 5681 §4.2: out-of-order data is acknowledged at once
        }
    }

    private void receiveFin(long now) {
        // RFC 9293 §3.10.7.4 eighth.
        if (finReceived) {
            ackNow = true;
            return;
        }
        finReceived = true;
        rcvNxt += 1;
        ackNow = true;
        endpoint.markEvent(this, TcpEndpoint.EV_READABLE);
        switch (state) {
            case SYN_RECEIVED, ESTABLISHED -> setState(TcpState.CLOSE_WAIT);
            case FIN_WAIT_1 -> {
                if (finSent && sndUna == finSeq() + 1) {
                    enterTimeWait(now);
                } else {
                    setState(TcpState.CLOSING);
                }
            }
            case FIN_WAIT_2 -> enterTimeWait(now);
            default -> { }
        }
    }

    private void enterTimeWait(long now) {
        setState(TcpState.TIME_WAIT);
        timers.clearAll();
        timers.set(TcpTimer.TIME_WAIT, now + 2 * cfg.mslNanos());
        sendQueue.release();
        endpoint.markEvent(this, TcpEndpoint.EV_CLOSED);
    }

    /**
     * The ACK that answers an unacceptable segment (RFC 9293 §3.10.7.4 first; RFC 7323 §5.3 R1),
     * at most one per {@code invalidAckInterval} for segments without data (Linux's
     * tcp_invalid_ratelimit), so junk segments cannot draw one ACK each. Segments with data or a
     * FIN (and no SYN) are always answered, as Linux does: they are a retransmission whose ACK was
     * lost, and the peer needs the ACK (a duplicate ACK, or a D-SACK) to stop retransmitting.
     */
    private void ackUnacceptable(int segLen, boolean syn, long now) {
        long interval = cfg.invalidAckIntervalNanos();
        if ((segLen == 0 || syn) && interval > 0) {
            if (lastInvalidAckAt != Long.MIN_VALUE && now - lastInvalidAckAt < interval) {
                endpoint.stats.outOfWindowAcksSuppressed++;
                return;
            }
            lastInvalidAckAt = now;
        }
        sendAck(now);
    }

    /** RFC 5961 §7: a challenge ACK, at most {@code challengeAckPerSecond} per connection per second. */
    private void challengeAck(long now) {
        if (challengeWindowStart == Long.MIN_VALUE || now - challengeWindowStart >= 1_000_000_000L) {
            challengeWindowStart = now;
            challengeCount = 0;
        }
        if (challengeCount >= cfg.challengeAckPerSecond()) {
            endpoint.stats.challengeAcksSuppressed++;
            return;
        }
        challengeCount++;
        endpoint.stats.challengeAcks++;
        sendAck(now);
    }

    // ------------------------------------------------------------------------------------------
    // Timers
    // ------------------------------------------------------------------------------------------

    /** Runs the timers due at {@code now}. */
    void onTimers(long now) {
        if (timers.due(TcpTimer.TIME_WAIT, now)) {
            timers.clear(TcpTimer.TIME_WAIT);
            becomeClosed(null);
            return;
        }
        if (timers.due(TcpTimer.FIN_WAIT_2, now)) {
            timers.clear(TcpTimer.FIN_WAIT_2);
            if (state == TcpState.FIN_WAIT_2) {
                becomeClosed(null);
                return;
            }
        }
        if (timers.due(TcpTimer.RETRANSMIT, now)) {
            timers.clear(TcpTimer.RETRANSMIT);
            onRetransmitTimeout(now);
            if (state == TcpState.CLOSED) {
                return;
            }
        }
        if (timers.due(TcpTimer.REORDER, now)) {
            timers.clear(TcpTimer.REORDER);
            if (sackOk && state.isSynchronized()) {
                rackDetectLoss(now);
                prrUpdate();
            }
        }
        if (timers.due(TcpTimer.PROBE, now)) {
            timers.clear(TcpTimer.PROBE);
            sendProbe(now);
        }
        if (timers.due(TcpTimer.PERSIST, now)) {
            timers.clear(TcpTimer.PERSIST);
            onPersist(now);
            if (state == TcpState.CLOSED) {
                return;
            }
        }
        if (timers.due(TcpTimer.KEEPALIVE, now)) {
            timers.clear(TcpTimer.KEEPALIVE);
            onKeepAlive(now);
            if (state == TcpState.CLOSED) {
                return;
            }
        }
        if (timers.due(TcpTimer.DELAYED_ACK, now)) {
            timers.clear(TcpTimer.DELAYED_ACK);
            ackNow = true;
        }
        output(now);
    }

    private void onRetransmitTimeout(long now) {
        endpoint.stats.rtoExpirations++;
        switch (state) {
            case SYN_SENT -> {
                if (synAttempt >= cfg.synRetries()) {
                    endpoint.stats.timeouts++;
                    becomeClosed(TcpError.TIMEOUT);
                    return;
                }
                synAttempt++;
                rtt.backoff();
                synExtOptions = ext == null ? List.of() : List.copyOf(ext.synOptions(synAttempt));
                retransmitHandshake(now);
                timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
            }
            case SYN_RECEIVED -> {
                if (synAttempt >= cfg.synAckRetries()) {
                    endpoint.stats.timeouts++;
                    // A passive half-open connection just goes away; an active one reports it.
                    if (activeOpen) {
                        endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, sndNxt, 0, false);
                    }
                    becomeClosed(activeOpen ? TcpError.TIMEOUT : null);
                    return;
                }
                synAttempt++;
                rtt.backoff();
                retransmitHandshake(now);
                timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
            }
            default -> {
                if (sndUna == sndNxt) {
                    return;
                }
                retransmits++;
                // RFC 9293 §3.8.3: R2 (retransmission count) and the user timeout.
                if (retransmits > cfg.maxRetransmits()
                        || (cfg.userTimeoutNanos() > 0 && now - progressAt >= cfg.userTimeoutNanos())) {
                    endpoint.stats.timeouts++;
                    abortWith(TcpError.TIMEOUT, now);
                    return;
                }
                // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back off.
                long flight = SeqNum.diff(sndNxt, sndUna);
                if (retransmits == 1 && !(undoValid && inRecovery)) {
                    beginUndoEpisode(); // a recovery under way keeps its own prior state
                }
                if (!recoveryPointValid || SeqNum.ge(sndUna, recoveryPoint) || inRecovery || retransmits == 1) {
                    cc.onRetransmitTimeout(flight, now);
                }
                rtt.backoff();
                rttTiming = false;
                inRecovery = false;
                dupAcks = 0;
                // RFC 6675 §5.1: RecoveryPoint = HighData, no new recovery until it is acknowledged;
                // RFC 2018 §8: the SACK information may be stale (reneging), so forget it.
                recoveryPoint = sndNxt;
                recoveryPointValid = true;
                scoreboard.clear();
                rack.forgetSacks();
                timers.clear(TcpTimer.REORDER);
                timers.clear(TcpTimer.PROBE);
                tlpInFlight = false;
                lostHigh = sndNxt;
                highRxt = sndUna;
                retransmitNext(now, true);
                timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
            }
        }
    }

    private void retransmitHandshake(long now) {
        endpoint.stats.segmentsRetransmitted++;
        if (state == TcpState.SYN_SENT) {
            sendSyn(now);
        } else if (state == TcpState.SYN_RECEIVED) {
            sendSynAck(now);
        }
    }

    private void onPersist(long now) {
        // RFC 9293 §3.8.6.1 zero-window probing, with exponential backoff.
        if (!state.isSynchronized() || sndWnd > 0 && sendQueue.size() == 0) {
            return;
        }
        int unsent = Math.max(0, SeqNum.diff(finSeq(), sndNxt));
        if (unsent == 0 && !(outputShutdown && !finSent)) {
            return;
        }
        persistProbes++;
        if (persistProbes > cfg.maxRetransmits()) {
            endpoint.stats.timeouts++;
            abortWith(TcpError.TIMEOUT, now);
            return;
        }
        long usable = sndWnd - SeqNum.diff(sndNxt, sndUna);
        if (usable > 0 && unsent > 0) {
            // The window opened a little: send what fits, overriding SWS avoidance (§3.8.6.2.1).
            List<TcpOption> opts = segmentOptions(now, true);
            sendNewData((int) Math.min(Math.min(usable, unsent), maxPayload(opts)), opts, now);
        } else {
            // DEVIATION: like Linux, the probe is an ACK with SEQ = SND.UNA - 1 and no data (it
            // elicits an ACK with the window) rather than one byte of new data beyond the window.
            emit(sndUna - 1, TcpFlags.ACK, null, segmentOptions(now, false), advertisedWindowField(), now);
        }
        persistBackoff = Math.min(persistBackoff + 1, 30);
        armPersist(now);
    }

    private void armPersist(long now) {
        long interval = rtt.rto();
        for (int i = 0; i < persistBackoff && interval < cfg.maxRtoNanos(); i++) {
            interval *= 2;
        }
        timers.set(TcpTimer.PERSIST, now + Math.min(interval, cfg.maxRtoNanos()));
    }

    private void onKeepAlive(long now) {
        if (!keepAlive || !(state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT
                || state == TcpState.FIN_WAIT_2)) {
            return;
        }
        if (sndNxt != sndUna) {
            armKeepAlive(now); // data in flight: the retransmission timer watches the peer
            return;
        }
        long idle = now - Math.max(lastReceivedAt, 0);
        if (keepProbes == 0 && idle < keepIdle) {
            timers.set(TcpTimer.KEEPALIVE, lastReceivedAt + keepIdle);
            return;
        }
        if (keepProbes >= keepCount) {
            endpoint.stats.timeouts++;
            abortWith(TcpError.TIMEOUT, now);
            return;
        }
        keepProbes++;
        // RFC 9293 §3.8.4: SEG.SEQ = SND.NXT - 1, no data (MAY-5 allows one garbage byte; not sent).
        emit(sndNxt - 1, TcpFlags.ACK, null, segmentOptions(now, false), advertisedWindowField(), now);
        timers.set(TcpTimer.KEEPALIVE, now + keepInterval);
    }

    private void armKeepAlive(long now) {
        if (keepAlive && state.isSynchronized() && state != TcpState.TIME_WAIT) {
            timers.set(TcpTimer.KEEPALIVE, Math.max(now, lastReceivedAt) + keepIdle);
        } else {
            timers.clear(TcpTimer.KEEPALIVE);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------------------------------

    /** Sends whatever the state, windows and timers allow: retransmissions, new data, FIN, ACK. */
    void output(long now) {
        if (state == TcpState.CLOSED || state == TcpState.LISTEN || state == TcpState.SYN_SENT
                || state == TcpState.SYN_RECEIVED) {
            return;
        }
        boolean sent = false;
        if (state != TcpState.TIME_WAIT && state != TcpState.FIN_WAIT_2) {
            sent = sendLoop(now);
        }
        if (state == TcpState.CLOSED) {
            return;
        }
        if (ackNow && !sent) {
            sendAck(now);
        }
        scheduleProbe(now);
    }

    /**
     * RFC 8985 §7.2: after new data goes out or SND.UNA advances, a probe is scheduled PTO later:
     * 2 SRTT (at least 10 ms, as Linux; plus the peer's worst-case delayed ACK when one segment is
     * out), or 1 s before any RTT sample. Only with SACK, data in flight, no fast or RTO recovery
     * under way, nothing SACKed (then RACK has what it needs) and no probe awaiting its answer.
     * DEVIATION: a probe that would not come before the RTO is not scheduled at all (RFC 8985 fires
     * it at the RTO's time instead), so an RTO stays an RTO.
     */
    private void scheduleProbe(long now) {
        boolean eligible = cfg.tailLossProbe() && sackOk && state.isSynchronized() && sndUna != sndNxt
                && !inRecovery && !(recoveryPointValid && SeqNum.lt(sndUna, recoveryPoint)) && scoreboard.isEmpty()
                && !tlpInFlight && timers.armed(TcpTimer.RETRANSMIT);
        if (!eligible) {
            timers.clear(TcpTimer.PROBE);
            probeDue = false;
            return;
        }
        if (!probeDue && timers.armed(TcpTimer.PROBE)) {
            return;
        }
        probeDue = false;
        long pto;
        if (rtt.hasSample()) {
            pto = Math.max(2 * rtt.srtt(), TLP_MIN_PTO);
            if (SeqNum.diff(sndNxt, sndUna) <= smss) {
                pto += TLP_DELAYED_ACK;
            }
        } else {
            pto = 1_000_000_000L;
        }
        if (now + pto - timers.at(TcpTimer.RETRANSMIT) >= 0) {
            timers.clear(TcpTimer.PROBE);
            return;
        }
        timers.set(TcpTimer.PROBE, now + pto);
    }

    /**
     * RFC 8985 §7.3: the probe, whatever cwnd says: one segment of new data when there is some and
     * the peer's window allows, otherwise the last segment sent again (with the FIN if it was sent).
     * The RTO restarts from it.
     */
    private void sendProbe(long now) {
        if (!state.isSynchronized() || sndUna == sndNxt || inRecovery || tlpInFlight) {
            return;
        }
        endpoint.stats.tailLossProbes++;
        tlpFlight = SeqNum.diff(sndNxt, sndUna);
        List<TcpOption> opts = segmentOptions(now, true);
        int maxPay = maxPayload(opts);
        int unsent = Math.max(0, SeqNum.diff(finSeq(), sndNxt));
        long wndRoom = sndWnd - SeqNum.diff(sndNxt, sndUna);
        if (unsent > 0 && wndRoom > 0) {
            sendingProbe = true;
            sendNewData((int) Math.min(Math.min(unsent, maxPay), wndRoom), opts, now);
            sendingProbe = false;
            tlpIsRetrans = false;
        } else {
            int end = SeqNum.min(sndNxt, finSeq()); // the end of the data sent
            int start = SeqNum.max(sndUna, end - maxPay);
            if (SeqNum.gt(start, end)) {
                start = end;
            }
            int dataLen = SeqNum.diff(end, start);
            boolean fin = finSent;
            if (dataLen == 0 && !fin) {
                return;
            }
            ByteBuf payload = dataLen > 0 ? sendQueue.slice(SeqNum.diff(start, queueSeq), dataLen) : null;
            emit(start, TcpFlags.ACK | (fin ? TcpFlags.FIN : 0), payload, opts, advertisedWindowField(), now);
            endpoint.stats.segmentsRetransmitted++;
            rack.onRetransmit(start, end + (fin ? 1 : 0), now);
            if (rttTiming && SeqNum.le(start, rttSeq) && SeqNum.lt(rttSeq, end + (fin ? 1 : 0))) {
                rttTiming = false; // Karn
            }
            tlpIsRetrans = true;
        }
        tlpInFlight = true;
        tlpEndSeq = sndNxt; // RFC 8985 §7.3 TLP.end_seq
        tlpTs = tsNow(now);
        timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
    }

    /**
     * RFC 8985 §7.4: the first ACK at or beyond the probe's TLP.end_seq. A probe of new data leaves
     * any loss to RACK. A retransmitted probe answered with a D-SACK found nothing lost; otherwise it
     * repaired a tail loss, and the window is reduced as for a fast recovery that ended at once
     * (§7.4.2). An ACK that echoes a TSval older than the probe's answers the original, not the
     * probe, so it proves nothing either way.
     */
    private void onProbeAnswered(TcpHeader h, Scoreboard.Update sacks, long now) {
        tlpInFlight = false;
        if (!tlpIsRetrans) {
            return;
        }
        if (sacks.dsack() && SeqNum.ge(sacks.dsackRight(), tlpEndSeq - 1)) {
            return; // the probe arrived twice: the original was not lost
        }
        TcpOption.Timestamps ts = tsOk ? h.option(TcpOption.Timestamps.class) : null;
        if (ts != null && ts.tsEcr() != 0 && SeqNum.lt(ts.tsEcr(), tlpTs)) {
            return;
        }
        endpoint.stats.tailLossesRepaired++;
        cc.onCongestionEvent(tlpFlight, now);
    }

    /** @return whether any segment (which carries an ACK) was sent */
    private boolean sendLoop(long now) {
        boolean sent = false;
        for (int guard = 0; guard < 10_000; guard++) {
            // 1. Loss recovery: retransmit what is known lost, within the pipe (RFC 6675 §5 (C)).
            if (inRecovery || SeqNum.lt(highRxt, lostHigh)) {
                // RFC 6675 §5 (C): while (cwnd - pipe) >= 1 SMSS
                if (sendWindow() - pipe() >= smss && retransmitNext(now, false)) {
                    sent = true;
                    continue;
                }
            }
            // 2. New data, and the FIN after it.
            int unsent = SeqNum.diff(finSeq(), sndNxt);
            if (unsent < 0) {
                unsent = 0; // only the FIN was beyond the queue, and it is sent
            }
            boolean finToSend = outputShutdown && !finSent && state != TcpState.ESTABLISHED
                    && state != TcpState.CLOSE_WAIT;
            if (unsent == 0 && !finToSend) {
                break;
            }
            long wndRoom = sndWnd - SeqNum.diff(sndNxt, sndUna);
            long cwndRoom = sendWindow() - pipe();
            if (!inRecovery && !sackOk && dupAcks > 0) {
                // RFC 3042 §2 limited transmit: the first two duplicate ACKs each let one new
                // segment out (with SACK the pipe already accounts for what left the network).
                cwndRoom += Math.min(dupAcks, DUP_THRESH - 1) * (long) smss;
            }
            List<TcpOption> opts = segmentOptions(now, true);
            int maxPay = maxPayload(opts);
            long len = Math.min(unsent, Math.min(Math.max(0, wndRoom), Math.max(0, cwndRoom)));
            len = Math.min(len, maxPay);
            if (unsent > 0 && len <= 0) {
                if (sndNxt == sndUna && wndRoom <= 0 && !timers.armed(TcpTimer.PERSIST)) {
                    armPersist(now);
                }
                break;
            }
            if (len < unsent && len < maxPay) {
                // A partial segment: RFC 9293 §3.8.6.2.1 sender SWS avoidance and Nagle (§3.7.4).
                boolean ok = len >= maxSndWnd / 2 && maxSndWnd > 0 && sndNxt == sndUna;
                if (!ok) {
                    if (sndNxt == sndUna && !timers.armed(TcpTimer.PERSIST)) {
                        armPersist(now); // the override timeout of §3.8.6.2.1
                    }
                    break;
                }
            } else if (len == unsent && len < maxPay && len > 0) {
                // All queued data fits in one small segment: Nagle holds it while data is unacknowledged.
                if (!noDelay && sndNxt != sndUna && !outputShutdown) {
                    break;
                }
            }
            if (len == 0 && finToSend) {
                // A bare FIN: it occupies sequence space but needs no window.
                if (sendWindow() - pipe() <= 0 && sndNxt != sndUna) {
                    break;
                }
            }
            sendNewData((int) len, opts, now);
            sent = true;
            if (finSent && SeqNum.ge(sndNxt, finSeq() + 1)) {
                break;
            }
        }
        return sent;
    }

    /** The most payload a segment may carry now: the effective MSS less this segment's options. */
    private int maxPayload(List<TcpOption> opts) {
        int optLen = TcpOptions.paddedLength(opts);
        return Math.max(1, Math.min(peerMss, cfg.mss()) - optLen);
    }

    private void sendNewData(int len, List<TcpOption> opts, long now) {
        int offset = SeqNum.diff(sndNxt, queueSeq);
        boolean fin = outputShutdown && !finSent && offset + len == sendQueue.size()
                && state != TcpState.ESTABLISHED && state != TcpState.CLOSE_WAIT;
        ByteBuf payload = len > 0 ? sendQueue.slice(offset, len) : null;
        int flags = TcpFlags.ACK | (fin ? TcpFlags.FIN : 0);
        if (len > 0 && offset + len == sendQueue.size()) {
            flags |= TcpFlags.PSH;
        }
        if (sndNxt == sndUna) {
            progressAt = now;
            if (now - lastSentAt > rtt.rto() && lastSentAt != 0 && len > 0) {
                cc.onIdleRestart(now); // RFC 5681 §4.1
            }
        }
        if (!rttTiming && !tsOk && len > 0) {
            rttTiming = true;
            rttSeq = sndNxt;
            rttStart = now;
        }
        emit(sndNxt, flags, payload, opts, advertisedWindowField(), now);
        if (sackOk && len + (fin ? 1 : 0) > 0) {
            rack.onSend(sndNxt, sndNxt + len + (fin ? 1 : 0), now); // RFC 8985 §6.1 Segment.xmit_ts
        }
        sndNxt += len + (fin ? 1 : 0);
        if (fin) {
            finSent = true;
        }
        if (!timers.armed(TcpTimer.RETRANSMIT)) {
            timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        }
        timers.clear(TcpTimer.PERSIST);
        if (!sendingProbe) {
            probeDue = true; // RFC 8985 §7.2: new data (not a probe) restarts the PTO
        }
    }

    /**
     * Retransmits the next lost range (RFC 6675 NextSeg() rule 1; after an RTO, the whole flight).
     *
     * @param force send even if the pipe is full (the first retransmission of a recovery or RTO)
     * @return whether a segment was sent
     */
    private boolean retransmitNext(long now, boolean force) {
        int from = SeqNum.max(highRxt, sndUna);
        int lostEnd = SeqNum.max(lostHigh, sndUna);
        if (inRecovery && !sackOk) {
            lostEnd = SeqNum.max(lostEnd, sndUna);
        }
        if (force) {
            lostEnd = SeqNum.max(lostEnd, sndUna + Math.min(smss, Math.max(1, SeqNum.diff(sndNxt, sndUna))));
            lostHigh = SeqNum.max(lostHigh, lostEnd);
        }
        lostEnd = SeqNum.min(lostEnd, sndNxt);
        // Skip SACKed ranges.
        int seq = scoreboard.nextUnsacked(from, lostEnd);
        if (seq == lostEnd || SeqNum.ge(seq, lostEnd)) {
            return false;
        }
        int holeEnd = SeqNum.min(scoreboard.nextSacked(seq, lostEnd), lostEnd);
        List<TcpOption> opts = segmentOptions(now, true);
        int maxPay = maxPayload(opts);
        int dataEnd = finSeq();
        int len = Math.min(SeqNum.diff(holeEnd, seq), maxPay);
        boolean fin = false;
        int dataLen = len;
        if (SeqNum.gt(seq + len, dataEnd)) {
            dataLen = Math.max(0, SeqNum.diff(dataEnd, seq));
            fin = finSent;
        }
        if (dataLen == 0 && !fin) {
            highRxt = seq + len;
            return false;
        }
        ByteBuf payload = dataLen > 0 ? sendQueue.slice(SeqNum.diff(seq, queueSeq), dataLen) : null;
        int flags = TcpFlags.ACK | (fin ? TcpFlags.FIN : 0);
        emit(seq, flags, payload, opts, advertisedWindowField(), now);
        endpoint.stats.segmentsRetransmitted++;
        highRxt = seq + dataLen + (fin ? 1 : 0);
        if (sackOk) {
            rack.onRetransmit(seq, highRxt, now);
        }
        if (undoValid) {
            if (!retransTsSet) {
                retransTsSet = true;
                retransTs = tsNow(now);
                retransAt = now;
                eifelArmed = tsOk;
            }
            undoRetrans += Math.max(1, (dataLen + smss - 1) / smss);
            undoHigh = SeqNum.max(undoHigh, highRxt);
        }
        if (rttTiming && SeqNum.le(seq, rttSeq) && SeqNum.lt(rttSeq, highRxt)) {
            rttTiming = false; // Karn: never time a retransmitted segment
        }
        if (!timers.armed(TcpTimer.RETRANSMIT)) {
            timers.set(TcpTimer.RETRANSMIT, now + rtt.rto());
        }
        return true;
    }

    /**
     * RFC 6675 §4 SetPipe(): bytes believed in the network. Unsacked bytes count once unless
     * lost, and once more if retransmitted.
     */
    long pipe() {
        if (!state.isSynchronized()) {
            return SeqNum.diff(sndNxt, sndUna);
        }
        long outstanding = SeqNum.diff(sndNxt, sndUna);
        if (outstanding <= 0) {
            return 0;
        }
        int lostEnd = SeqNum.max(lostHigh, sndUna);
        lostEnd = SeqNum.min(lostEnd, sndNxt);
        int rxEnd = SeqNum.min(SeqNum.max(highRxt, sndUna), sndNxt);
        long sacked = scoreboard.sackedBetween(sndUna, sndNxt);
        long lost = SeqNum.diff(lostEnd, sndUna) - scoreboard.sackedBetween(sndUna, lostEnd);
        long retransmitted = SeqNum.diff(rxEnd, sndUna) - scoreboard.sackedBetween(sndUna, rxEnd);
        long p = outstanding - sacked - lost + retransmitted;
        if (inRecovery && !sackOk) {
            // DEVIATION: without SACK, each duplicate ACK is taken as one segment having left
            // the network (Linux's "SACK emulation" for Reno) so the pipe drains during recovery.
            p -= (long) dupAcks * smss;
        }
        return Math.max(0, p);
    }

    private List<TcpOption> segmentOptions(long now, boolean withSack) {
        List<TcpOption> o = new ArrayList<>(8);
        if (tsOk) {
            o.add(NOP);
            o.add(NOP);
            o.add(new TcpOption.Timestamps(tsNow(now), tsRecent));
        }
        if (ext != null) {
            List<TcpOption> extra = ext.segmentOptions();
            if (!extra.isEmpty()) {
                if (TcpOptions.length(o) + TcpOptions.length(extra) <= TcpOptions.MAX_LENGTH) {
                    o.addAll(extra);
                } else {
                    log.warn("{}: extension options {} do not fit beside {}", this, extra, o);
                }
            }
        }
        if (withSack && sackOk && (rcvBuf.hasOutOfOrder() || dsackPending)) {
            int used = TcpOptions.length(o);
            int room = TcpOptions.MAX_LENGTH - ((used + 3) & ~3) - 2; // NOP NOP before the block list
            int n = Math.min(4, (room - 2) / 8);
            if (n > 0) {
                // pad what precedes to a 4-byte boundary so the blocks are aligned
                while (TcpOptions.length(o) % 4 != 0) {
                    o.add(NOP);
                }
                o.add(NOP);
                o.add(NOP);
                List<TcpOption.SackBlock> blocks;
                if (dsackPending) {
                    // RFC 2883 §4 (1): the D-SACK block first, then the usual blocks.
                    blocks = new ArrayList<>(n);
                    blocks.add(new TcpOption.SackBlock(dsackLeft, dsackRight));
                    blocks.addAll(rcvBuf.sackBlocks(n - 1));
                } else {
                    blocks = rcvBuf.sackBlocks(n);
                }
                o.add(new TcpOption.Sack(blocks));
            }
        }
        return o;
    }

    private void sendAck(long now) {
        emit(sndNxt, TcpFlags.ACK, null, segmentOptions(now, true), advertisedWindowField(), now);
    }

    /** The receive window as the peer sees it: the advertised right edge less RCV.NXT. */
    private long rcvWindow() {
        return Math.max(0, SeqNum.diff(rcvAdvRight, rcvNxt));
    }

    private boolean windowUpdateWorthSending() {
        long current = rcvWindow();
        long possible = Math.min(rcvBuf.capacity() - (long) rcvBuf.readableBytes(), 0xFFFFL << rcvWscale);
        long threshold = Math.min(rcvBuf.capacity() / 2, Math.min(peerMss, cfg.mss()));
        return possible - current >= threshold;
    }

    /**
     * The window field to send, moving the right edge forward only when that is worth it
     * (RFC 9293 §3.8.6.2.2 receiver SWS avoidance) and never back (§3.8.6.2.2 "shrinking the
     * window" is strongly discouraged; RFC 7323 §2.4).
     */
    private int advertisedWindowField() {
        long possible = Math.min(rcvBuf.capacity() - (long) rcvBuf.readableBytes(), 0xFFFFL << rcvWscale);
        long current = rcvWindow();
        long threshold = Math.min(rcvBuf.capacity() / 2, Math.min(peerMss, cfg.mss()));
        long wnd = current;
        if (possible > current && (possible - current >= threshold || current == 0 && possible >= threshold)) {
            wnd = possible;
        }
        // Round up to the scale unit so the peer's view of the right edge never moves back.
        long field = (wnd + (1L << rcvWscale) - 1) >> rcvWscale;
        field = Math.min(field, 0xFFFF);
        rcvAdvRight = rcvNxt + (int) (field << rcvWscale);
        return (int) field;
    }

    private int tsNow(long now) {
        return tsNow(now, tsOffset);
    }

    /** RFC 7323 §5.4: a 1 ms clock plus a per-connection offset. */
    static int tsNow(long now, int tsOffset) {
        return (int) (now / 1_000_000L) + tsOffset;
    }

    /**
     * Builds and queues one segment. Every segment but a SYN carries the ACK of RCV.NXT, so it
     * also settles any pending ACK.
     *
     * @param payload owned: released here (may be null)
     */
    private void emit(int seq, int flags, ByteBuf payload, List<TcpOption> options, int window, long now) {
        int ack = 0;
        if ((flags & TcpFlags.ACK) != 0) {
            ack = rcvNxt;
            lastAckSent = rcvNxt;
            if (dsackPending && options.stream().anyMatch(o -> o instanceof TcpOption.Sack)) {
                dsackPending = false; // reported once (RFC 2883 §4)
            }
            ackNow = false;
            unackedBytes = 0;
            timers.clear(TcpTimer.DELAYED_ACK);
        }
        lastSentAt = now;
        TcpHeader h = TcpHeader.of(localPort, remotePort, seq, ack, flags, window, options);
        endpoint.transmit(localAddr, remoteAddr, h, payload);
    }

    // ------------------------------------------------------------------------------------------
    // Ending
    // ------------------------------------------------------------------------------------------

    /** Sends a RST (if synchronized or SYN-RECEIVED) and closes with {@code why}. */
    private void abortWith(TcpError why, long now) {
        if (state == TcpState.SYN_RECEIVED || state.isSynchronized() && state != TcpState.TIME_WAIT) {
            // RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
            endpoint.sendRst(localAddr, localPort, remoteAddr, remotePort, sndNxt, 0, false);
        }
        becomeClosed(why);
        rcvBuf.release(); // RFC 9293 §3.10.5: everything queued is flushed
        releaseAll();
    }

    void becomeClosed(TcpError why) {
        if (state == TcpState.CLOSED) {
            return;
        }
        boolean wasHalfOpen = state == TcpState.SYN_RECEIVED;
        TcpState before = state;
        setState(TcpState.CLOSED);
        if (error == null) {
            error = why;
        }
        timers.clearAll();
        sendQueue.release();
        if (why != null) {
            rcvBuf.release();
        }
        if (listener != null && wasHalfOpen) {
            listener.halfOpen--;
            listener = null;
        }
        if (before != TcpState.TIME_WAIT) {
            endpoint.markEvent(this, TcpEndpoint.EV_CLOSED);
        }
        endpoint.connectionClosed(this, !accepted() && !activeOpen && wasHalfOpen);
    }

    boolean accepted() {
        return listener == null;
    }

    /** Releases every buffer; after this the connection holds no memory. */
    void releaseAll() {
        sendQueue.release();
        rcvBuf.release();
        if (state == TcpState.CLOSED || state == TcpState.TIME_WAIT) {
            released = true;
            endpoint.connectionReleased(this);
        }
    }

    private void setState(TcpState s) {
        if (s != state) {
            log.debug("{}: {} -> {}", this, state, s);
            state = s;
        }
    }

    /** Whether the connection holds buffers the user may still read. */
    boolean holdsData() {
        return rcvBuf.readableBytes() > 0 || rcvBuf.outOfOrderBytes() > 0 || sendQueue.size() > 0;
    }

    int timeWaitRcvNxt() {
        return rcvNxt;
    }

    int timeWaitTsRecent() {
        return tsRecentValid ? tsRecent : 0;
    }

    boolean timestampsOk() {
        return tsOk;
    }
}
