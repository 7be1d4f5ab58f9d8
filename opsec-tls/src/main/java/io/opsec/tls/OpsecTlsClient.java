package io.opsec.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.Vector;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.NamedGroupRole;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsDHGroupVerifier;
import org.bouncycastle.tls.TlsExtensionsUtils;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsKeyExchangeFactory;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.crypto.TlsCertificate;

import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * The TLS client of one connection: offers what {@link TlsSecurityProtocol.TlsConfig} allows,
 * checks what the server chose, and verifies the server's key when configured to.
 */
final class OpsecTlsClient extends DefaultTlsClient {

    private final TlsSecurityProtocol.TlsConfig config;
    private final PeerEvents events;
    private final GroupRecorder groups = new GroupRecorder();
    private int selectedSuite = -1;
    private PeerAuthentication authentication = PeerAuthentication.ANONYMOUS;

    OpsecTlsClient(TlsSecurityProtocol.TlsConfig config, PeerEvents events) {
        super(config.crypto);
        this.config = config;
        this.events = events;
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        return config.clientSuites.clone();
    }

    @Override
    protected ProtocolVersion[] getSupportedVersions() {
        return ProtocolVersion.TLSv12.only();
    }

    @Override
    public ProtocolVersion[] getProtocolVersions() {
        // TLS 1.2 only: the draft names RFC 5246, and its anonymous suites do not exist in 1.3.
        return ProtocolVersion.TLSv12.only();
    }

    @Override
    public boolean requiresExtendedMasterSecret() {
        // RFC 7627 §5.2: abort (handshake_failure) if the server does not agree to it.
        return true;
    }

    @Override
    public TlsDHGroupVerifier getDHGroupVerifier() {
        // Consulted for a group the server sends explicitly; a named group we offered in
        // supported_groups (all RFC 7919, all >= the minimum) is checked by BouncyCastle itself.
        return new Rfc7919GroupVerifier(config.minimumDhBits);
    }

    @Override
    protected Vector getSupportedGroups(Vector namedGroupRoles) {
        List<Integer> wanted = new ArrayList<>();
        if (namedGroupRoles.contains(NamedGroupRole.ecdh) || namedGroupRoles.contains(NamedGroupRole.ecdsa)) {
            wanted.addAll(List.of(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1));
        }
        if (namedGroupRoles.contains(NamedGroupRole.dh)) {
            // RFC 7919 §3: name the FFDHE groups we accept, so an RFC 7919 server picks one.
            for (int g : new int[] {NamedGroup.ffdhe2048, NamedGroup.ffdhe3072, NamedGroup.ffdhe4096,
                    NamedGroup.ffdhe6144, NamedGroup.ffdhe8192}) {
                if (NamedGroup.getFiniteFieldBits(g) >= config.minimumDhBits) {
                    wanted.add(g);
                }
            }
        }
        Vector<Integer> groups = new Vector<>();
        for (int g : wanted) {
            if (getCrypto().hasNamedGroup(g)) {
                groups.add(g);
            }
        }
        return groups;
    }

    @Override
    public TlsSession getSessionToResume() {
        return null; // draft §6 / READING-NOTES decision 7: no resumption
    }

    @Override
    public void notifySelectedCipherSuite(int selectedCipherSuite) {
        super.notifySelectedCipherSuite(selectedCipherSuite);
        this.selectedSuite = selectedCipherSuite;
    }

    @Override
    public void processServerExtensions(Hashtable serverExtensions) throws IOException {
        super.processServerExtensions(serverExtensions);
        // RFC 7366 §3: the server agrees to encrypt-then-MAC by echoing the extension. A CBC suite
        // without it would run MAC-then-encrypt; refuse (READING-NOTES decision 8).
        if (selectedSuite >= 0 && CipherSuites.isCbc(selectedSuite)
                && (serverExtensions == null || !TlsExtensionsUtils.hasEncryptThenMACExtension(serverExtensions))) {
            throw new TlsFatalAlert(AlertDescription.handshake_failure,
                    "server chose CBC suite " + CipherSuites.name(selectedSuite) + " without encrypt_then_mac");
        }
        if (config.verifiesPeer() && CipherSuites.isAnonymous(selectedSuite)) {
            // Never offered in this mode; a server choosing it anyway is not trusted.
            throw new TlsFatalAlert(AlertDescription.illegal_parameter, "anonymous suite chosen but not offered");
        }
    }

    @Override
    public TlsAuthentication getAuthentication() {
        return new TlsAuthentication() {
            @Override
            public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                authentication = verify(serverCertificate.getCertificate());
            }

            @Override
            public TlsCredentials getClientCredentials(CertificateRequest certificateRequest) {
                return null; // OPSEC clients have no certificate
            }
        };
    }

    /**
     * Decides whether the server's certificate is acceptable. BouncyCastle verifies afterwards
     * that the server holds its key (the ServerKeyExchange signature, RFC 5246 §7.4.3), so a
     * matching pin proves the peer is the pinned key's owner.
     */
    private PeerAuthentication verify(Certificate chain) throws IOException {
        if (chain == null || chain.isEmpty()) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "empty server certificate");
        }
        if (!config.verifiesPeer()) {
            return PeerAuthentication.UNVERIFIED; // READING-NOTES decision 9: accept, report the key
        }
        byte[] fingerprint = TlsSecuritySession.fingerprint(chain.getCertificateAt(0));
        for (byte[] pin : config.pins) {
            if (Arrays.equals(pin, fingerprint)) {
                return PeerAuthentication.VERIFIED;
            }
        }
        if (config.trustAnchors.isEmpty()) {
            throw new TlsFatalAlert(AlertDescription.bad_certificate, "server key matches no pinned fingerprint");
        }
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            List<X509Certificate> path = new ArrayList<>();
            for (TlsCertificate c : chain.getCertificateList()) {
                path.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.getEncoded())));
            }
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate a : config.trustAnchors) {
                anchors.add(new TrustAnchor(a, null));
            }
            // A chain that is just a trust anchor itself validates as an empty path.
            path.removeIf(c -> config.trustAnchors.contains(c));
            CertPath certPath = cf.generateCertPath(path);
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false); // no network for CRLs/OCSP; documented
            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            return PeerAuthentication.VERIFIED;
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new TlsFatalAlert(AlertDescription.certificate_unknown,
                    "server certificate does not validate to a trust anchor: " + e.getMessage(), e);
        }
    }

    @Override
    public TlsKeyExchangeFactory getKeyExchangeFactory() {
        return groups;
    }

    @Override
    public void notifyAlertRaised(short alertLevel, short alertDescription, String message, Throwable cause) {
        events.alertRaised(alertLevel, alertDescription, message, cause);
    }

    @Override
    public void notifyAlertReceived(short alertLevel, short alertDescription) {
        events.alertReceived(alertLevel, alertDescription);
    }

    @Override
    public void notifyHandshakeComplete() throws IOException {
        super.notifyHandshakeComplete();
        events.handshakeComplete(context, authentication, groups.group());
    }
}
