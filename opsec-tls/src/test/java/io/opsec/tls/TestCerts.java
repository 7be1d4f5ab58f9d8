package io.opsec.tls;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Keys and certificates made on the fly for tests (bcpkix, JDK providers). */
final class TestCerts {

    private static final AtomicLong SERIAL = new AtomicLong(1);

    /** A key and the certificate that carries its public half. */
    record Identity(KeyPair keys, X509Certificate certificate) {
    }

    private TestCerts() {
    }

    static KeyPair ecKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    static KeyPair rsaKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    /** A self-signed certificate (a CA when {@code ca}). */
    static Identity selfSigned(KeyPair keys, String cn, boolean ca) throws Exception {
        return new Identity(keys, certificate(keys, cn, keys, cn, ca));
    }

    static Identity selfSignedEc(String cn) throws Exception {
        return selfSigned(ecKeys(), cn, false);
    }

    /** An end-entity certificate for {@code keys} issued by {@code issuer}. */
    static Identity issued(KeyPair keys, String cn, Identity issuer) throws Exception {
        String issuerCn = issuer.certificate().getSubjectX500Principal().getName().replace("CN=", "");
        return new Identity(keys, certificate(keys, cn, issuer.keys(), issuerCn, false));
    }

    private static X509Certificate certificate(KeyPair subject, String subjectCn, KeyPair issuer, String issuerCn,
                                               boolean ca) throws Exception {
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                new X500Name("CN=" + issuerCn), BigInteger.valueOf(SERIAL.getAndIncrement()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(2))),
                new X500Name("CN=" + subjectCn), subject.getPublic());
        if (ca) {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.digitalSignature));
        }
        String sigAlg = issuer.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder(sigAlg).build(issuer.getPrivate())));
    }
}
