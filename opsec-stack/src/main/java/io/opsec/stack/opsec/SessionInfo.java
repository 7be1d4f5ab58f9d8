package io.opsec.stack.opsec;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link SecuritySession} negotiated, as applications and status displays see it.
 *
 * <p>The {@link #sessionId() session id} is a per-connection value both ends compute alike from
 * the negotiated keys (for TLS, an RFC 5705 exporter); two applications that compare it out of
 * band detect a man in the middle, who would have to run two different key exchanges
 * (READING-NOTES decision 10). It is not secret, but it reveals nothing about the keys.
 *
 * <p>Arrays are copied in and out: instances are immutable.
 */
public final class SessionInfo {

    /** How the peer's identity was established. */
    public enum PeerAuthentication {
        /** Anonymous key exchange: no peer key at all (the OPSEC default). */
        ANONYMOUS,
        /**
         * The peer proved possession of the key in its certificate, but nothing vouches for
         * that key: accepted opportunistically (READING-NOTES decision 9). Compare
         * {@link #peerKeyFingerprint()} out of band to trust it.
         */
        UNVERIFIED,
        /** The peer's key matched a pinned fingerprint or chained to a configured trust anchor. */
        VERIFIED
    }

    private final String protocol;
    private final String protocolVersion;
    private final String cipherSuite;
    private final int cipherSuiteCode;
    private final byte[] sessionId;
    private final PeerAuthentication peerAuthentication;
    private final byte[] peerKeyFingerprint;
    private final String keyExchangeGroup;

    /**
     * @param protocol           the security protocol's name, such as {@code "TLS"}
     * @param protocolVersion    its version as negotiated, such as {@code "TLSv1.2"}
     * @param cipherSuite        the negotiated suite's standard name, such as
     *                           {@code "TLS_DH_anon_WITH_AES_128_GCM_SHA256"}
     * @param cipherSuiteCode    its registry code point, such as {@code 0x00A6}
     * @param sessionId          the per-connection session id (copied)
     * @param peerAuthentication how the peer's identity was established
     * @param peerKeyFingerprint SHA-256 of the peer's SubjectPublicKeyInfo (copied), or
     *                           {@code null} when the key exchange was anonymous
     */
    public SessionInfo(String protocol, String protocolVersion, String cipherSuite, int cipherSuiteCode,
                       byte[] sessionId, PeerAuthentication peerAuthentication, byte[] peerKeyFingerprint) {
        this(protocol, protocolVersion, cipherSuite, cipherSuiteCode, sessionId, peerAuthentication,
                peerKeyFingerprint, null);
    }

    /**
     * As {@link #SessionInfo(String, String, String, int, byte[], PeerAuthentication, byte[])},
     * with the key exchange group.
     *
     * @param keyExchangeGroup the (EC)DH group of the key exchange by its standard name, such as
     *                         {@code "ffdhe2048"} or {@code "x25519"}, or {@code null} if unknown
     */
    public SessionInfo(String protocol, String protocolVersion, String cipherSuite, int cipherSuiteCode,
                       byte[] sessionId, PeerAuthentication peerAuthentication, byte[] peerKeyFingerprint,
                       String keyExchangeGroup) {
        this.protocol = Objects.requireNonNull(protocol, "protocol");
        this.protocolVersion = Objects.requireNonNull(protocolVersion, "protocolVersion");
        this.cipherSuite = Objects.requireNonNull(cipherSuite, "cipherSuite");
        this.cipherSuiteCode = cipherSuiteCode;
        this.sessionId = Objects.requireNonNull(sessionId, "sessionId").clone();
        this.peerAuthentication = Objects.requireNonNull(peerAuthentication, "peerAuthentication");
        if ((peerKeyFingerprint == null) != (peerAuthentication == PeerAuthentication.ANONYMOUS)) {
            throw new IllegalArgumentException("a fingerprint is present exactly when the peer has a key");
        }
        this.peerKeyFingerprint = peerKeyFingerprint == null ? null : peerKeyFingerprint.clone();
        this.keyExchangeGroup = keyExchangeGroup;
    }

    /** The security protocol's name, such as {@code "TLS"}. */
    public String protocol() {
        return protocol;
    }

    /** The protocol version negotiated, such as {@code "TLSv1.2"}. */
    public String protocolVersion() {
        return protocolVersion;
    }

    /** The negotiated cipher suite's standard (IANA) name. */
    public String cipherSuite() {
        return cipherSuite;
    }

    /** The negotiated cipher suite's code point, such as {@code 0x00A6}. */
    public int cipherSuiteCode() {
        return cipherSuiteCode;
    }

    /** The per-connection session id, equal at both ends (a copy). */
    public byte[] sessionId() {
        return sessionId.clone();
    }

    /** The session id in lower-case hex. */
    public String sessionIdHex() {
        return HexFormat.of().formatHex(sessionId);
    }

    /** How the peer's identity was established. */
    public PeerAuthentication peerAuthentication() {
        return peerAuthentication;
    }

    /**
     * SHA-256 of the DER SubjectPublicKeyInfo of the peer's end-entity certificate (a copy), or
     * empty when the key exchange was anonymous.
     */
    public Optional<byte[]> peerKeyFingerprint() {
        return Optional.ofNullable(peerKeyFingerprint).map(byte[]::clone);
    }

    /**
     * The (EC)DH group of the key exchange by its standard name ({@code "ffdhe2048"},
     * {@code "x25519"}, {@code "secp256r1"}, ...), or empty if the protocol did not say.
     */
    public Optional<String> keyExchangeGroup() {
        return Optional.ofNullable(keyExchangeGroup);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SessionInfo that
                && cipherSuiteCode == that.cipherSuiteCode
                && protocol.equals(that.protocol)
                && protocolVersion.equals(that.protocolVersion)
                && cipherSuite.equals(that.cipherSuite)
                && Arrays.equals(sessionId, that.sessionId)
                && peerAuthentication == that.peerAuthentication
                && Arrays.equals(peerKeyFingerprint, that.peerKeyFingerprint)
                && Objects.equals(keyExchangeGroup, that.keyExchangeGroup);
    }

    @Override
    public int hashCode() {
        return Objects.hash(protocol, cipherSuiteCode, Arrays.hashCode(sessionId));
    }

    @Override
    public String toString() {
        return protocol + " " + protocolVersion + " " + cipherSuite
                + String.format(" (0x%04X)", cipherSuiteCode)
                + (keyExchangeGroup == null ? "" : " group " + keyExchangeGroup)
                + " session-id " + sessionIdHex()
                + " peer " + peerAuthentication
                + (peerKeyFingerprint == null ? "" : " sha256/" + HexFormat.of().formatHex(peerKeyFingerprint));
    }
}
