package io.opsec.tls;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.stream.IntStream;

import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityProtocol;
import io.opsec.stack.opsec.SecuritySession;

/**
 * OPSEC security protocol 0: TLS 1.2 (RFC 5246; draft-paddon-tcp-opsec §4.1) over
 * BouncyCastle's non-blocking engine with the JDK's cryptography ({@link JcaTlsCrypto}).
 *
 * <p>With no configuration ({@code new TlsSecurityProtocol()}, which is what
 * {@link java.util.ServiceLoader} makes) it runs anonymous Diffie-Hellman over the RFC 7919
 * groups: no keys, no certificates, nothing to manage. The {@link #builder()} adds, per host:
 * <ul>
 *   <li>{@link Builder#serverCredentials(PrivateKey, X509Certificate...) server credentials}: a
 *       server then prefers certificate-authenticated ECDHE suites and still accepts anonymous
 *       clients;</li>
 *   <li>{@link Builder#pinnedFingerprint(byte[]) pinned peer keys} or
 *       {@link Builder#trustAnchors(X509Certificate...) trust anchors}: a client then offers
 *       only authenticated suites and fails the handshake unless the server's key verifies;</li>
 *   <li>a {@link Builder#keyLog(KeyLog) key log} for Wireshark;</li>
 *   <li>narrower {@link Builder#cipherSuites(int...) suites} or a larger
 *       {@link Builder#minimumDhBits(int) minimum group}.</li>
 * </ul>
 * Every session is TLS 1.2 only, requires the extended master secret (RFC 7627), uses
 * encrypt-then-MAC for CBC suites (RFC 7366), and never resumes, issues tickets or renegotiates
 * (draft §6: no reuse of key material). See {@code docs/tls.md}.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class TlsSecurityProtocol implements SecurityProtocol {

    /** The OPSEC protocol identifier of TLS (draft-paddon-tcp-opsec §4). */
    public static final int ID = 0;

    /**
     * The RFC 5705 exporter label of the per-connection session id. Labels beginning with
     * "EXPORTER" are the ones RFC 5705 §4 sets aside for such use; this one is the project's
     * own and is used with no context value (RFC 5705 §4 distinguishes "no context" from an empty
     * one) and a length of {@link #SESSION_ID_LENGTH}.
     */
    public static final String SESSION_ID_EXPORTER_LABEL = "EXPORTER-opsec-session-id";

    /** Length in bytes of the exported session id. */
    public static final int SESSION_ID_LENGTH = 32;

    /** The smallest finite-field group accepted or offered: ffdhe2048 (RFC 7919 §3, §5.1). */
    public static final int DEFAULT_MINIMUM_DH_BITS = 2048;

    private final TlsConfig config;

    /** The unconfigured protocol: anonymous Diffie-Hellman, nothing to manage. */
    public TlsSecurityProtocol() {
        this(new Builder());
    }

    private TlsSecurityProtocol(Builder b) {
        this.config = new TlsConfig(b);
    }

    /** A builder for a configured protocol. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public int id() {
        return ID;
    }

    @Override
    public String name() {
        return "TLS";
    }

    @Override
    public SecuritySession newSession(SecurityContext context) {
        return new TlsSecuritySession(config, Objects.requireNonNull(context, "context"));
    }

    /** The cipher suites a client of this protocol offers, in order (for tests and docs). */
    public int[] clientCipherSuites() {
        return config.clientSuites.clone();
    }

    /** The cipher suites a server of this protocol accepts, in preference order. */
    public int[] serverCipherSuites() {
        return config.serverSuites.clone();
    }

    /**
     * SHA-256 of the DER SubjectPublicKeyInfo of {@code certificate}: the fingerprint that
     * {@link io.opsec.stack.opsec.SessionInfo#peerKeyFingerprint()} reports and that
     * {@link Builder#pinnedFingerprint(byte[])} expects.
     */
    public static byte[] keyFingerprint(X509Certificate certificate) {
        return sha256(certificate.getPublicKey().getEncoded());
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }

    @Override
    public String toString() {
        return "TlsSecurityProtocol" + config;
    }

    /** Configures a {@link TlsSecurityProtocol}. Not thread-safe; {@link #build()} copies. */
    public static final class Builder {
        PrivateKey serverKey;
        X509Certificate[] serverChain;
        final List<X509Certificate> trustAnchors = new ArrayList<>();
        final List<byte[]> pins = new ArrayList<>();
        KeyLog keyLog;
        int[] cipherSuites;
        int minimumDhBits = DEFAULT_MINIMUM_DH_BITS;
        SecureRandom random;

        private Builder() {
        }

        /**
         * Gives a server a key and its certificate chain (end-entity first). The key must be EC
         * (ECDSA; the certificate's curve must be one a client offers: P-256 or P-384) or RSA;
         * the server then prefers TLS_ECDHE_ECDSA or TLS_ECDHE_RSA suites with AES-GCM
         * (RFC 5289) and still accepts anonymous clients (READING-NOTES decision 9).
         */
        public Builder serverCredentials(PrivateKey key, X509Certificate... chain) {
            Objects.requireNonNull(key, "key");
            if (chain == null || chain.length == 0) {
                throw new IllegalArgumentException("a certificate chain is required");
            }
            String alg = key.getAlgorithm();
            if (!alg.equals("EC") && !alg.equals("RSA")) {
                throw new IllegalArgumentException("server key must be EC or RSA, not " + alg);
            }
            this.serverKey = key;
            this.serverChain = chain.clone();
            return this;
        }

        /**
         * Adds trust anchors: a client then requires the server's certificate chain to validate
         * (PKIX, RFC 5280; without revocation checking and without a name check, since OPSEC has
         * no server name) to one of them, or its key to match a pin, and otherwise fails the
         * handshake with certificate_unknown.
         */
        public Builder trustAnchors(X509Certificate... anchors) {
            for (X509Certificate a : anchors) {
                trustAnchors.add(Objects.requireNonNull(a));
            }
            return this;
        }

        /**
         * Pins a server key by its {@link #keyFingerprint(X509Certificate) fingerprint}: a client
         * then requires the server's key to match a pin (or its chain to validate to a trust
         * anchor) and otherwise fails the handshake with bad_certificate.
         */
        public Builder pinnedFingerprint(byte[] sha256OfSubjectPublicKeyInfo) {
            if (sha256OfSubjectPublicKeyInfo.length != 32) {
                throw new IllegalArgumentException("a SHA-256 fingerprint has 32 bytes");
            }
            pins.add(sha256OfSubjectPublicKeyInfo.clone());
            return this;
        }

        /** {@link #pinnedFingerprint(byte[])} from 64 hex digits (colons allowed). */
        public Builder pinnedFingerprint(String hex) {
            return pinnedFingerprint(HexFormat.of().parseHex(hex.replace(":", "").toLowerCase()));
        }

        /**
         * Writes each connection's secrets to {@code keyLog} in the NSS format (for Wireshark).
         * Debugging only: whoever reads the log decrypts the traffic. A key log that throws is
         * logged and otherwise ignored: it never fails a connection.
         */
        public Builder keyLog(KeyLog keyLog) {
            this.keyLog = Objects.requireNonNull(keyLog);
            return this;
        }

        /** {@link #keyLog(KeyLog)} appending to a file. */
        public Builder keyLog(Path file) {
            return keyLog(KeyLog.appendingTo(file));
        }

        /**
         * Restricts the suites offered (client) and accepted (server) to these, keeping the
         * protocol's own preference order. Each must be one the protocol supports
         * ({@link #clientCipherSuites()} lists them).
         */
        public Builder cipherSuites(int... suites) {
            for (int s : suites) {
                if (!CipherSuites.isKnown(s)) {
                    throw new IllegalArgumentException("unsupported cipher suite " + CipherSuites.name(s));
                }
            }
            this.cipherSuites = suites.clone();
            return this;
        }

        /**
         * The smallest finite-field group to accept (client) or choose (server); at least
         * {@value TlsSecurityProtocol#DEFAULT_MINIMUM_DH_BITS} (RFC 7919).
         */
        public Builder minimumDhBits(int bits) {
            if (bits < DEFAULT_MINIMUM_DH_BITS) {
                throw new IllegalArgumentException("groups below ffdhe2048 are refused (RFC 7919), not " + bits);
            }
            this.minimumDhBits = bits;
            return this;
        }

        /** The randomness source (default: a new {@link SecureRandom}). */
        public Builder random(SecureRandom random) {
            this.random = Objects.requireNonNull(random);
            return this;
        }

        /** The configured protocol. */
        public TlsSecurityProtocol build() {
            return new TlsSecurityProtocol(this);
        }
    }

    /** The immutable configuration shared by the sessions of one protocol instance. */
    static final class TlsConfig {
        final JcaTlsCrypto crypto;
        final PrivateKey serverKey;
        final X509Certificate[] serverChain;
        final List<X509Certificate> trustAnchors;
        final List<byte[]> pins;
        final KeyLog keyLog;
        final int minimumDhBits;
        final int[] clientSuites;
        final int[] serverSuites;

        TlsConfig(Builder b) {
            this.crypto = new JcaTlsCryptoProvider().create(b.random != null ? b.random : new SecureRandom());
            this.serverKey = b.serverKey;
            this.serverChain = b.serverChain;
            this.trustAnchors = List.copyOf(b.trustAnchors);
            this.pins = List.copyOf(b.pins);
            this.keyLog = b.keyLog;
            this.minimumDhBits = b.minimumDhBits;

            int[] authenticated = concat(CipherSuites.ECDSA, CipherSuites.RSA);
            // A client that verifies offers only suites that carry a certificate: offering an
            // anonymous one would let a man in the middle pick it and skip the check.
            int[] client = verifiesPeer()
                    ? authenticated
                    // draft §6: prefer non-anonymous key exchange when the peer supports it.
                    : concat(authenticated, CipherSuites.ANONYMOUS);
            int[] server = serverKey == null
                    ? CipherSuites.ANONYMOUS
                    : concat(serverKey.getAlgorithm().equals("EC") ? CipherSuites.ECDSA : CipherSuites.RSA,
                             CipherSuites.ANONYMOUS);
            this.clientSuites = restrict(client, b.cipherSuites);
            this.serverSuites = restrict(server, b.cipherSuites);
        }

        boolean verifiesPeer() {
            return !pins.isEmpty() || !trustAnchors.isEmpty();
        }

        private static int[] concat(int[] a, int[] b) {
            return IntStream.concat(Arrays.stream(a), Arrays.stream(b)).toArray();
        }

        private static int[] restrict(int[] ordered, int[] allowed) {
            if (allowed == null) {
                return ordered;
            }
            return Arrays.stream(ordered).filter(s -> Arrays.stream(allowed).anyMatch(a -> a == s)).toArray();
        }

        @Override
        public String toString() {
            return "[server key " + (serverKey == null ? "none" : serverKey.getAlgorithm())
                    + ", pins " + pins.size() + ", anchors " + trustAnchors.size()
                    + ", keylog " + (keyLog != null) + ", min DH " + minimumDhBits + "]";
        }
    }
}
