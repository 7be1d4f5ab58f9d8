package io.opsec.stack.tcp;

import io.opsec.stack.wire.TcpOptions;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one {@link TcpEndpoint}; per-connection switches (Nagle, keepalive) start from
 * these and can be changed on the connection. Build with {@link #builder()}; every value has a
 * default, listed on its builder method. Durations are nanoseconds.
 *
 * @param mtu                 IP MTU of the link; our MSS is {@code mtu - 40} (RFC 9293 §3.7.1)
 * @param sendBufferSize      bytes the send queue holds (unacknowledged plus unsent)
 * @param receiveBufferSize   bytes the receive side holds (unread plus out of order); bounds the window
 * @param minRtoNanos         RFC 6298 §2.4 lower bound (200 ms, as Linux, rather than the RFC's 1 s)
 * @param maxRtoNanos         RFC 6298 §2.5 upper bound
 * @param initialRtoNanos     RFC 6298 §2.1 initial RTO
 * @param synRetries          SYN retransmissions before the connect fails with TIMEOUT
 * @param synAckRetries       SYN-ACK retransmissions before a half-open connection is dropped
 * @param maxRetransmits      data retransmissions of one segment before the connection fails (R2, RFC 9293 §3.8.3)
 * @param userTimeoutNanos    no progress on outstanding data for this long fails the connection (RFC 9293 §3.8.3); 0 = off
 * @param delayedAckNanos     longest an ACK is delayed (RFC 9293 §3.8.6.3, at most 500 ms); 0 acks every segment at once
 * @param mslNanos            maximum segment lifetime; TIME-WAIT lasts 2 x MSL (RFC 9293 §3.4.2)
 * @param finWait2TimeoutNanos FIN-WAIT-2 lifetime after a full close, as Linux's tcp_fin_timeout; 0 = forever
 * @param noDelay             Nagle off by default when true (RFC 9293 §3.7.4; default false: Nagle on)
 * @param keepAlive           keepalive on by default (RFC 9293 §3.8.4; default false)
 * @param keepIdleNanos       idle time before the first keepalive probe
 * @param keepIntervalNanos   time between unanswered probes
 * @param keepCount           unanswered probes before the connection fails with TIMEOUT
 * @param congestion          congestion control
 * @param initialWindowSegments RFC 6928 initial window, in segments (10)
 * @param windowScaling       offer RFC 7323 window scaling
 * @param timestamps          offer RFC 7323 timestamps
 * @param sack                offer RFC 2018 SACK
 * @param tailLossProbe       RFC 8985 §7 TLP on SACK connections: a probe after about two SRTT
 *                            without an ACK, instead of waiting for the RTO
 * @param challengeAckPerSecond RFC 5961 §7 challenge ACKs allowed per connection per second
 * @param invalidAckIntervalNanos least time between two ACKs a connection sends in answer to
 *                            unacceptable segments without data (out of window, PAWS), as Linux's
 *                            tcp_invalid_ratelimit; 0 = no limit
 * @param synCookies          when a listener answers a SYN with a SYN cookie instead of keeping state
 * @param localPrefixLength   the local subnet's prefix length, so its directed broadcast address is
 *                            refused as a peer (RFC 1122 §3.2.1.3); 0 = not known, 31 and 32 have none
 * @param ephemeralPortFirst  first port of the RFC 6056 ephemeral range
 * @param ephemeralPortLast   last port of the ephemeral range
 * @param codec               how OPSEC options are recognised on input
 */
public record TcpConfig(int mtu, int sendBufferSize, int receiveBufferSize, long minRtoNanos, long maxRtoNanos,
                        long initialRtoNanos, int synRetries, int synAckRetries, int maxRetransmits,
                        long userTimeoutNanos, long delayedAckNanos, long mslNanos, long finWait2TimeoutNanos,
                        boolean noDelay, boolean keepAlive, long keepIdleNanos, long keepIntervalNanos, int keepCount,
                        CongestionAlgorithm congestion, int initialWindowSegments, boolean windowScaling,
                        boolean timestamps, boolean sack, boolean tailLossProbe, int challengeAckPerSecond,
                        long invalidAckIntervalNanos,
                        SynCookieMode synCookies, int localPrefixLength, int ephemeralPortFirst,
                        int ephemeralPortLast, TcpOptions.Codec codec) {

    public TcpConfig {
        Objects.requireNonNull(congestion, "congestion");
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(synCookies, "synCookies");
        if (invalidAckIntervalNanos < 0) throw new IllegalArgumentException("negative invalid-ACK interval");
        if (localPrefixLength < 0 || localPrefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + localPrefixLength + " out of 0..32");
        }
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("MTU " + mtu + " out of 68..65535");
        if (sendBufferSize < 1 || receiveBufferSize < 1) throw new IllegalArgumentException("buffer sizes must be positive");
        if (receiveBufferSize > (1 << 30)) throw new IllegalArgumentException("receive buffer above 1 GiB (RFC 7323 §2.3)");
        if (minRtoNanos <= 0 || maxRtoNanos < minRtoNanos || initialRtoNanos < minRtoNanos) {
            throw new IllegalArgumentException("need 0 < minRto <= initialRto and minRto <= maxRto");
        }
        if (delayedAckNanos < 0 || delayedAckNanos > 500_000_000L) {
            throw new IllegalArgumentException("delayed ACK must be 0..500 ms (RFC 9293 MUST-40)");
        }
        if (ephemeralPortFirst < 1 || ephemeralPortLast > 65535 || ephemeralPortFirst > ephemeralPortLast) {
            throw new IllegalArgumentException("bad ephemeral port range");
        }
        if (initialWindowSegments < 1 || keepCount < 1 || synRetries < 0 || synAckRetries < 0 || maxRetransmits < 1) {
            throw new IllegalArgumentException("counts must be positive");
        }
    }

    /** Our MSS: the MTU less 20 bytes of IPv4 and 20 of TCP header. */
    public int mss() {
        return mtu - 40;
    }

    /** All defaults. */
    public static TcpConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.mtu = mtu; b.sendBufferSize = sendBufferSize; b.receiveBufferSize = receiveBufferSize;
        b.minRto = minRtoNanos; b.maxRto = maxRtoNanos; b.initialRto = initialRtoNanos; b.synRetries = synRetries;
        b.synAckRetries = synAckRetries; b.maxRetransmits = maxRetransmits; b.userTimeout = userTimeoutNanos;
        b.delayedAck = delayedAckNanos; b.msl = mslNanos; b.finWait2Timeout = finWait2TimeoutNanos;
        b.noDelay = noDelay; b.keepAlive = keepAlive; b.keepIdle = keepIdleNanos; b.keepInterval = keepIntervalNanos;
        b.keepCount = keepCount; b.congestion = congestion; b.initialWindowSegments = initialWindowSegments;
        b.windowScaling = windowScaling; b.timestamps = timestamps; b.sack = sack; b.tailLossProbe = tailLossProbe;
        b.challengeAckPerSecond = challengeAckPerSecond; b.invalidAckInterval = invalidAckIntervalNanos;
        b.synCookies = synCookies; b.localPrefixLength = localPrefixLength; b.ephemeralPortFirst = ephemeralPortFirst;
        b.ephemeralPortLast = ephemeralPortLast; b.codec = codec;
        return b;
    }

    /** Builder; each setter names its default. */
    public static final class Builder {
        private int mtu = 1500;
        private int sendBufferSize = 1024 * 1024;
        private int receiveBufferSize = 256 * 1024;
        private long minRto = ms(200);
        private long maxRto = ms(120_000);
        private long initialRto = ms(1000);
        private int synRetries = 7;
        private int synAckRetries = 5;
        private int maxRetransmits = 15;
        private long userTimeout = ms(300_000);
        private long delayedAck = ms(200);
        private long msl = ms(30_000);
        private long finWait2Timeout = ms(60_000);
        private boolean noDelay = false;
        private boolean keepAlive = false;
        private long keepIdle = ms(7_200_000);
        private long keepInterval = ms(75_000);
        private int keepCount = 9;
        private CongestionAlgorithm congestion = CongestionAlgorithm.NEWRENO;
        private int initialWindowSegments = 10;
        private boolean windowScaling = true;
        private boolean timestamps = true;
        private boolean sack = true;
        private boolean tailLossProbe = true;
        private int challengeAckPerSecond = 10;
        private long invalidAckInterval = ms(500);
        private SynCookieMode synCookies = SynCookieMode.WHEN_FULL;
        private int localPrefixLength = 0;
        private int ephemeralPortFirst = 49152;
        private int ephemeralPortLast = 65535;
        private TcpOptions.Codec codec = TcpOptions.Codec.DEFAULT;

        private static long ms(long v) {
            return v * 1_000_000L;
        }

        /** Link MTU (1500). */
        public Builder mtu(int v) { mtu = v; return this; }
        /** Send buffer bytes (1 MiB: 256 KiB capped the flight, and so uploads, on the kernel lab's tunnel). */
        public Builder sendBufferSize(int v) { sendBufferSize = v; return this; }
        /** Receive buffer bytes (256 KiB). */
        public Builder receiveBufferSize(int v) { receiveBufferSize = v; return this; }
        /** Minimum RTO (200 ms). */
        public Builder minRto(Duration d) { minRto = d.toNanos(); return this; }
        /** Maximum RTO (120 s). */
        public Builder maxRto(Duration d) { maxRto = d.toNanos(); return this; }
        /** Initial RTO (1 s). */
        public Builder initialRto(Duration d) { initialRto = d.toNanos(); return this; }
        /**
         * SYN retransmissions (7: with a 1 s initial RTO and the 120 s maximum the last SYN goes at
         * 127 s and the attempt fails at 247 s). RFC 9293 §3.8.3 (MUST-23): R2 for a SYN covers at
         * least 3 minutes; Linux's default of 6 gives up at 127 s.
         */
        public Builder synRetries(int v) { synRetries = v; return this; }
        /** SYN-ACK retransmissions (5). */
        public Builder synAckRetries(int v) { synAckRetries = v; return this; }
        /** Retransmissions of one segment before failing (15, Linux's tcp_retries2). */
        public Builder maxRetransmits(int v) { maxRetransmits = v; return this; }
        /** User timeout (5 minutes, RFC 9293 §3.8.3); zero turns it off. */
        public Builder userTimeout(Duration d) { userTimeout = d.toNanos(); return this; }
        /** Delayed ACK limit (200 ms); zero disables delayed ACKs. */
        public Builder delayedAck(Duration d) { delayedAck = d.toNanos(); return this; }
        /** MSL (30 s, so TIME-WAIT is 60 s as on Linux). */
        public Builder msl(Duration d) { msl = d.toNanos(); return this; }
        /** FIN-WAIT-2 timeout after a full close (60 s); zero waits forever. */
        public Builder finWait2Timeout(Duration d) { finWait2Timeout = d.toNanos(); return this; }
        /** Disable Nagle on new connections (false). */
        public Builder noDelay(boolean v) { noDelay = v; return this; }
        /** Keepalive on new connections (false). */
        public Builder keepAlive(boolean v) { keepAlive = v; return this; }
        /** Keepalive idle time (2 h), interval (75 s) and probe count (9), as Linux. */
        public Builder keepAlive(Duration idle, Duration interval, int count) {
            keepIdle = idle.toNanos(); keepInterval = interval.toNanos(); keepCount = count; return this;
        }
        /** Congestion control (NEWRENO). */
        public Builder congestion(CongestionAlgorithm v) { congestion = v; return this; }
        /** Initial window in segments (10, RFC 6928). */
        public Builder initialWindowSegments(int v) { initialWindowSegments = v; return this; }
        /** Offer window scaling (true). */
        public Builder windowScaling(boolean v) { windowScaling = v; return this; }
        /** Offer timestamps (true). */
        public Builder timestamps(boolean v) { timestamps = v; return this; }
        /** Offer SACK (true). */
        public Builder sack(boolean v) { sack = v; return this; }
        /** RFC 8985 §7 tail loss probes on SACK connections (true). */
        public Builder tailLossProbe(boolean v) { tailLossProbe = v; return this; }
        /** Challenge ACKs per connection per second (10). */
        public Builder challengeAckPerSecond(int v) { challengeAckPerSecond = v; return this; }
        /**
         * Least time between two ACKs answering unacceptable segments without data (500 ms, Linux's
         * tcp_invalid_ratelimit); zero answers every one (RFC 9293 §3.10.7.4 alone).
         */
        public Builder invalidAckInterval(Duration d) { invalidAckInterval = d.toNanos(); return this; }
        /** When listeners answer with SYN cookies (WHEN_FULL: once the backlog is full). */
        public Builder synCookies(SynCookieMode v) { synCookies = v; return this; }
        /** The local subnet's prefix length, to refuse its directed broadcast as a peer (0: not known). */
        public Builder localPrefixLength(int v) { localPrefixLength = v; return this; }
        /** Ephemeral port range (49152..65535, RFC 6056 §3.2). */
        public Builder ephemeralPorts(int first, int last) { ephemeralPortFirst = first; ephemeralPortLast = last; return this; }
        /** OPSEC option recognition (experimental framing only). */
        public Builder codec(TcpOptions.Codec v) { codec = v; return this; }

        public TcpConfig build() {
            return new TcpConfig(mtu, sendBufferSize, receiveBufferSize, minRto, maxRto, initialRto, synRetries,
                    synAckRetries, maxRetransmits, userTimeout, delayedAck, msl, finWait2Timeout, noDelay, keepAlive,
                    keepIdle, keepInterval, keepCount, congestion, initialWindowSegments, windowScaling, timestamps,
                    sack, tailLossProbe, challengeAckPerSecond, invalidAckInterval, synCookies, localPrefixLength, ephemeralPortFirst,
                    ephemeralPortLast, codec);
        }
    }
}
