package io.opsec.tls;

import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Vector;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.SignatureAlgorithm;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.TlsCredentialedSigner;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsKeyExchangeFactory;
import org.bouncycastle.tls.TlsSession;
import org.bouncycastle.tls.TlsUtils;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.bouncycastle.tls.crypto.TlsCryptoParameters;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaDefaultTlsCredentialedSigner;

import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * The TLS server of one connection: accepts what {@link TlsSecurityProtocol.TlsConfig} allows,
 * in its own preference order, and signs with the configured key when it has one.
 */
final class OpsecTlsServer extends DefaultTlsServer {

    private final TlsSecurityProtocol.TlsConfig config;
    private final PeerEvents events;
    private final GroupRecorder groups = new GroupRecorder();

    OpsecTlsServer(TlsSecurityProtocol.TlsConfig config, PeerEvents events) {
        super(config.crypto);
        this.config = config;
        this.events = events;
    }

    @Override
    protected int[] getSupportedCipherSuites() {
        return config.serverSuites.clone();
    }

    @Override
    protected ProtocolVersion[] getSupportedVersions() {
        return ProtocolVersion.TLSv12.only();
    }

    @Override
    public ProtocolVersion[] getProtocolVersions() {
        return ProtocolVersion.TLSv12.only(); // a client that cannot do 1.2 gets protocol_version
    }

    @Override
    public boolean requiresExtendedMasterSecret() {
        // RFC 7627 §5.2: abort (handshake_failure) if the client does not offer it.
        return true;
    }

    @Override
    protected boolean preferLocalCipherSuites() {
        // Authenticated suites first when we have a key (draft §6), AEAD before CBC (RFC 5288).
        return true;
    }

    @Override
    protected boolean isSelectableCipherSuite(int cipherSuite, int availCurveBits, int availFiniteFieldBits,
                                              Vector sigAlgs) {
        // RFC 7366 §3: a CBC suite only with encrypt-then-MAC; a client that did not offer it
        // gets an AEAD suite or, failing that, handshake_failure (READING-NOTES decision 8).
        if (CipherSuites.isCbc(cipherSuite) && !encryptThenMACOffered) {
            return false;
        }
        return super.isSelectableCipherSuite(cipherSuite, availCurveBits, availFiniteFieldBits, sigAlgs);
    }

    @Override
    protected int getMaximumNegotiableFiniteFieldBits() {
        // RFC 7919 §4: if the client named FFDHE groups and none is acceptable (all below our
        // minimum), no FFDHE suite may be selected; 0 makes every DH suite unselectable.
        int bits = super.getMaximumNegotiableFiniteFieldBits();
        return bits >= config.minimumDhBits ? bits : 0;
    }

    @Override
    protected int getMaximumDefaultFiniteFieldBits() {
        // A client that named no FFDHE group gets our default: at least our minimum.
        return Math.max(super.getMaximumDefaultFiniteFieldBits(), config.minimumDhBits);
    }

    @Override
    protected int selectDH(int minimumFiniteFieldBits) {
        // RFC 7919 §4: an FFDHE group the client named, of at least our minimum, else the default.
        return super.selectDH(Math.max(minimumFiniteFieldBits, config.minimumDhBits));
    }

    @Override
    protected int selectDHDefault(int minimumFiniteFieldBits) {
        return super.selectDHDefault(Math.max(minimumFiniteFieldBits, config.minimumDhBits));
    }

    @Override
    public TlsSession getSessionToResume(byte[] sessionID) {
        return null; // draft §6 / READING-NOTES decision 7: no resumption
    }

    @Override
    public byte[] getNewSessionID() {
        return null; // an empty session_id in ServerHello: this session can never be resumed
    }

    @Override
    protected TlsCredentialedSigner getECDSASignerCredentials() throws IOException {
        return signer(SignatureAlgorithm.ecdsa);
    }

    @Override
    protected TlsCredentialedSigner getRSASignerCredentials() throws IOException {
        return signer(SignatureAlgorithm.rsa);
    }

    private TlsCredentialedSigner signer(short keyType) throws IOException {
        if (config.serverKey == null) {
            return null;
        }
        SignatureAndHashAlgorithm chosen = null;
        Vector clientSigAlgs = context.getSecurityParametersHandshake().getClientSigAlgs();
        if (clientSigAlgs == null) {
            // RFC 5246 §7.4.1.4.1: without the extension, the client supports SHA-1 only.
            chosen = TlsUtils.getDefaultSignatureAlgorithm(keyType);
        } else {
            for (Object o : clientSigAlgs) {
                SignatureAndHashAlgorithm alg = (SignatureAndHashAlgorithm) o;
                if (matches(keyType, alg.getSignature()) && getCrypto().hasSignatureAndHashAlgorithm(alg)) {
                    chosen = alg;
                    break;
                }
            }
        }
        if (chosen == null) {
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "no signature algorithm in common");
        }
        return new JcaDefaultTlsCredentialedSigner(new TlsCryptoParameters(context), config.crypto,
                config.serverKey, certificate(), chosen);
    }

    private static boolean matches(short keyType, short signature) {
        if (keyType == SignatureAlgorithm.ecdsa) {
            return signature == SignatureAlgorithm.ecdsa;
        }
        // RSASSA-PKCS1-v1_5 only: the JDK's providers have no "SHA256withRSASSA-PSS" signature
        // under the name JcaTlsCrypto asks for, so a PSS choice would fail with internal_error.
        // PKCS#1 v1.5 is what RFC 5246 §7.4.1.4.1 defines for TLS 1.2 and every client offers.
        return signature == SignatureAlgorithm.rsa;
    }

    private Certificate certificate() throws IOException {
        TlsCertificate[] list = new TlsCertificate[config.serverChain.length];
        try {
            for (int i = 0; i < list.length; i++) {
                X509Certificate c = config.serverChain[i];
                list[i] = config.crypto.createCertificate(c.getEncoded());
            }
        } catch (CertificateEncodingException e) {
            throw new TlsFatalAlert(AlertDescription.internal_error, "server certificate", e);
        }
        return new Certificate(list);
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
        events.handshakeComplete(context, PeerAuthentication.ANONYMOUS, groups.group()); // clients never authenticate
    }
}
