package io.opsec.examples.bench;

import java.io.IOException;
import java.net.Socket;
import java.security.SecureRandom;
import java.util.Vector;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.CertificateRequest;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsCredentials;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.TlsServerProtocol;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * The TLS baseline: BouncyCastle's blocking {@code TlsClientProtocol}/{@code TlsServerProtocol}
 * over a kernel {@link Socket}, configured as opsec-tls configures its engine (TLS 1.2 only, one
 * anonymous DH suite, RFC 7919 ffdhe2048, extended master secret, encrypt-then-MAC for CBC, no
 * resumption), with the same {@link JcaTlsCrypto}. So the comparison is the transport and the
 * engine's driving, not the cryptography.
 */
final class BcTls {
    private static final JcaTlsCrypto CRYPTO = new JcaTlsCryptoProvider().create(new SecureRandom());

    private BcTls() {}

    /** Runs the client handshake on {@code s}; the result's streams carry application data. */
    static TlsClientProtocol connect(Socket s, int suite) throws IOException {
        TlsClientProtocol p = new TlsClientProtocol(s.getInputStream(), s.getOutputStream());
        p.connect(new Client(suite));
        return p;
    }

    /** Runs the server handshake on an accepted {@code s}. */
    static TlsServerProtocol accept(Socket s, int suite) throws IOException {
        TlsServerProtocol p = new TlsServerProtocol(s.getInputStream(), s.getOutputStream());
        p.accept(new Server(suite));
        return p;
    }

    private static final class Client extends DefaultTlsClient {
        private final int suite;

        Client(int suite) {
            super(CRYPTO);
            this.suite = suite;
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return new int[] {suite};
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv12.only();
        }

        @Override
        public boolean requiresExtendedMasterSecret() {
            return true;
        }

        @Override
        @SuppressWarnings({"rawtypes", "unchecked"})
        protected Vector getSupportedGroups(Vector namedGroupRoles) {
            Vector v = new Vector();
            v.add(NamedGroup.ffdhe2048);
            return v;
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new TlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate serverCertificate) throws IOException {
                    throw new TlsFatalAlert(AlertDescription.bad_certificate); // anonymous suites only
                }

                @Override
                public TlsCredentials getClientCredentials(CertificateRequest certificateRequest) {
                    return null;
                }
            };
        }
    }

    private static final class Server extends DefaultTlsServer {
        private final int suite;

        Server(int suite) {
            super(CRYPTO);
            this.suite = suite;
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return new int[] {suite};
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv12.only();
        }

        @Override
        public boolean requiresExtendedMasterSecret() {
            return true;
        }

        @Override
        public byte[] getNewSessionID() {
            return null; // no resumption, as opsec-tls
        }
    }
}
