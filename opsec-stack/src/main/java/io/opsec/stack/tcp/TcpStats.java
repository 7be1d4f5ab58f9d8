package io.opsec.stack.tcp;

import io.opsec.stack.wire.ParseError;
import java.util.EnumMap;
import java.util.Map;

/** Counters of one {@link TcpEndpoint}, readable at any time (not thread-safe: read from the loop thread). */
public final class TcpStats {
    private final EnumMap<ParseError, Long> parseErrors = new EnumMap<>(ParseError.class);
    long packetsIn, packetsOut, segmentsRetransmitted, rstsSent, rstsReceived, challengeAcks, challengeAcksSuppressed,
            notForUs, noConnection, pawsRejected, outOfWindow, badAck, connectionsOpened, connectionsAccepted,
            synsDroppedBacklog, timeouts, fastRetransmits, rtoExpirations, abortOnData, extensionAborts,
            badSourceAddress, outOfWindowAcksSuppressed, synCookiesSent, synCookiesValidated, synCookiesFailed;
    long dsacks, spuriousRecoveries, rackLosses, tailLossProbes, tailLossesRepaired;

    void parseError(ParseError e) {
        parseErrors.merge(e, 1L, Long::sum);
    }

    /** Dropped packets per parse failure. */
    public Map<ParseError, Long> parseErrors() {
        return Map.copyOf(parseErrors);
    }

    public long parseErrors(ParseError e) {
        return parseErrors.getOrDefault(e, 0L);
    }

    public long packetsIn() { return packetsIn; }
    public long packetsOut() { return packetsOut; }
    public long segmentsRetransmitted() { return segmentsRetransmitted; }
    public long rstsSent() { return rstsSent; }
    public long rstsReceived() { return rstsReceived; }
    /** RFC 5961 challenge ACKs sent, and those the per-connection limit suppressed. */
    public long challengeAcks() { return challengeAcks; }
    public long challengeAcksSuppressed() { return challengeAcksSuppressed; }
    /** Packets addressed to another host. */
    public long notForUs() { return notForUs; }
    /** Segments for no connection and no listener (answered with RST unless they were RSTs). */
    public long noConnection() { return noConnection; }
    public long pawsRejected() { return pawsRejected; }
    public long outOfWindow() { return outOfWindow; }
    public long badAck() { return badAck; }
    public long connectionsOpened() { return connectionsOpened; }
    public long connectionsAccepted() { return connectionsAccepted; }
    public long synsDroppedBacklog() { return synsDroppedBacklog; }
    public long timeouts() { return timeouts; }
    public long fastRetransmits() { return fastRetransmits; }
    public long rtoExpirations() { return rtoExpirations; }
    public long abortOnData() { return abortOnData; }
    /** ACKs whose first SACK block was a D-SACK (RFC 2883): data that arrived twice. */
    public long dsacks() { return dsacks; }
    /** Fast recoveries and RTOs found spurious (RFC 3708 D-SACK, RFC 3522 timestamps) and undone (RFC 4015). */
    public long spuriousRecoveries() { return spuriousRecoveries; }
    /** Times RACK (RFC 8985) marked unSACKed data lost. */
    public long rackLosses() { return rackLosses; }
    /** RFC 8985 §7 tail loss probes sent, and those that repaired a loss (answered without a D-SACK). */
    public long tailLossProbes() { return tailLossProbes; }
    public long tailLossesRepaired() { return tailLossesRepaired; }
    public long extensionAborts() { return extensionAborts; }
    /** Segments dropped for a source that is not one host (broadcast, multicast, 0.0.0.0/8; RFC 1122 §4.2.3.10). */
    public long badSourceAddress() { return badSourceAddress; }
    /** ACKs not sent in answer to unacceptable segments, by {@link TcpConfig#invalidAckIntervalNanos()}. */
    public long outOfWindowAcksSuppressed() { return outOfWindowAcksSuppressed; }
    /** SYN-ACKs sent with a SYN cookie (RFC 4987 §3.6) instead of keeping a half-open connection. */
    public long synCookiesSent() { return synCookiesSent; }
    /** ACKs whose cookie was valid and made a connection. */
    public long synCookiesValidated() { return synCookiesValidated; }
    /** ACKs to a listener that had sent cookies, whose cookie was not valid (forged, stale, other tuple). */
    public long synCookiesFailed() { return synCookiesFailed; }

    @Override
    public String toString() {
        return "TcpStats{in=" + packetsIn + ", out=" + packetsOut + ", rtx=" + segmentsRetransmitted + ", rto="
                + rtoExpirations + ", fastRtx=" + fastRetransmits + ", dsacks=" + dsacks + ", undone=" + spuriousRecoveries
                + ", rstOut=" + rstsSent + ", rstIn=" + rstsReceived
                + ", challengeAcks=" + challengeAcks + ", paws=" + pawsRejected + ", oow=" + outOfWindow
                + ", oowAcksSuppressed=" + outOfWindowAcksSuppressed + ", badSource=" + badSourceAddress
                + ", cookies=" + synCookiesSent + "/" + synCookiesValidated + "/" + synCookiesFailed
                + ", parseErrors=" + parseErrors + "}";
    }
}
