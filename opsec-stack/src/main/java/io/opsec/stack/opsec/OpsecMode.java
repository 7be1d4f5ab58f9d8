package io.opsec.stack.opsec;

/**
 * How a socket uses OPSEC (reading notes, decision 11; draft §5 allows enabling and disabling it).
 */
public enum OpsecMode {
    /** Never propose or select a security protocol: plain RFC 9293 TCP. */
    OFF,
    /** Propose and select when possible; run plain TCP with a peer that does not (the default). */
    OPPORTUNISTIC,
    /**
     * Fail the connection (RST and an error to the application) unless it ends up secured.
     * Beyond the draft, which calls OPSEC purely best effort (§1).
     */
    REQUIRED
}
