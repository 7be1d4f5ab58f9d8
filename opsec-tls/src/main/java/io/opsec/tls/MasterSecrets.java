package io.opsec.tls;

import org.bouncycastle.tls.crypto.TlsSecret;
import org.bouncycastle.tls.crypto.impl.AbstractTlsSecret;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCrypto;
import org.bouncycastle.tls.crypto.impl.jcajce.JceTlsSecret;

/**
 * Reads the bytes of a live BouncyCastle secret without destroying it, for the key log.
 *
 * <p>Why this exists: BouncyCastle 1.84 exposes the master secret only as an opaque
 * {@link TlsSecret}; its public {@link TlsSecret#extract()} hands the bytes over <em>and destroys
 * the secret</em>, which would break the RFC 5705 exporter and the connection's later use of it.
 * The non-destructive copy is {@code AbstractTlsSecret.copyData(AbstractTlsSecret)}, a protected
 * static helper, reachable only from a subclass; this class is that subclass and is never
 * instantiated. It works for secrets made by {@link JcaTlsCrypto} (and by BouncyCastle's other
 * software crypto), whose secrets all extend {@link AbstractTlsSecret}; for any other secret
 * (for example one held in a hardware token) it returns {@code null} and no key log line is
 * written.
 */
final class MasterSecrets extends JceTlsSecret {

    private MasterSecrets() {
        super(null, new byte[0]);
        throw new AssertionError("never instantiated");
    }

    /** A copy of the secret's bytes, or {@code null} if they cannot be read. */
    static byte[] copyOf(TlsSecret secret) {
        if (secret instanceof AbstractTlsSecret s && s.isAlive()) {
            return copyData(s);
        }
        return null;
    }
}
