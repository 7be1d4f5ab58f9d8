package io.opsec.tls;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.Hashtable;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.ContentType;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.DefaultTlsServer;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsExtensionsUtils;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.DHGroup;
import org.bouncycastle.tls.crypto.TlsCrypto;
import org.bouncycastle.tls.crypto.TlsDHConfig;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * Bare BouncyCastle peers configured to break one rule each, to prove that our sessions notice.
 * Our own sessions cannot be made to misbehave like this, which is the point.
 */
final class RawPeers {

    static final TlsCrypto CRYPTO = new JcaTlsCryptoProvider().create(new SecureRandom());

    static final int[] ANON_GCM = {CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256};
    static final int[] ANON_CBC = {CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA};

    private RawPeers() {
    }

    /** A client with knobs; defaults behave like a well-configured anonymous TLS 1.2 client. */
    static class Client extends DefaultTlsClient {
        int[] suites = ANON_GCM;
        ProtocolVersion[] versions = ProtocolVersion.TLSv12.only();
        boolean extendedMasterSecret = true;
        boolean encryptThenMac = true;
        boolean offerSessionTicket;
        /** FFDHE groups to name in supported_groups; null: BouncyCastle's default. */
        int[] groups;
        /** The prime of the group the server sent, once it has. */
        java.math.BigInteger serverPrime;

        Client() {
            super(CRYPTO);
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return suites;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return versions;
        }

        @Override
        public boolean shouldUseExtendedMasterSecret() {
            return extendedMasterSecret;
        }

        @Override
        protected java.util.Vector getSupportedGroups(java.util.Vector roles) {
            if (groups == null) {
                return super.getSupportedGroups(roles);
            }
            java.util.Vector<Integer> v = new java.util.Vector<>();
            for (int g : groups) {
                v.add(g);
            }
            return v;
        }

        @Override
        public org.bouncycastle.tls.TlsDHGroupVerifier getDHGroupVerifier() {
            return group -> {
                serverPrime = group.getP();
                return true;
            };
        }

        @Override
        public Hashtable getClientExtensions() throws IOException {
            Hashtable ext = super.getClientExtensions();
            if (!encryptThenMac) {
                ext.remove(TlsExtensionsUtils.EXT_encrypt_then_mac);
            }
            if (offerSessionTicket) {
                ext.put(org.bouncycastle.util.Integers.valueOf(org.bouncycastle.tls.ExtensionType.session_ticket), new byte[0]); // RFC 5077 §3.2: empty
            }
            return ext;
        }

        @Override
        public TlsAuthentication getAuthentication() {
            return new TlsAuthentication() {
                @Override
                public void notifyServerCertificate(TlsServerCertificate c) {
                }

                @Override
                public org.bouncycastle.tls.TlsCredentials getClientCredentials(
                        org.bouncycastle.tls.CertificateRequest r) {
                    return null;
                }
            };
        }
    }

    /** A server with knobs; defaults behave like a well-configured anonymous TLS 1.2 server. */
    static class Server extends DefaultTlsServer {
        int[] suites = ANON_GCM;
        DHGroup group; // null: the default (ffdhe2048)
        boolean extendedMasterSecret = true;
        boolean encryptThenMac = true;

        Server() {
            super(CRYPTO);
        }

        @Override
        protected int[] getSupportedCipherSuites() {
            return suites;
        }

        @Override
        protected ProtocolVersion[] getSupportedVersions() {
            return ProtocolVersion.TLSv12.only();
        }

        @Override
        public boolean shouldUseExtendedMasterSecret() {
            return extendedMasterSecret;
        }

        @Override
        protected boolean allowEncryptThenMAC() {
            return encryptThenMac;
        }

        @Override
        public TlsDHConfig getDHConfig() throws IOException {
            return group == null ? super.getDHConfig() : new TlsDHConfig(group);
        }
    }

    /** A client engine that can write records our sessions never would (data after close_notify). */
    static final class RudeClientProtocol extends TlsClientProtocol {
        void closeNotifyThenData(byte[] data) throws IOException {
            byte[] closeNotify = {AlertLevel.warning, AlertDescription.close_notify};
            safeWriteRecord(ContentType.alert, closeNotify, 0, 2);
            safeWriteRecord(ContentType.application_data, data, 0, data.length);
        }
    }
}
