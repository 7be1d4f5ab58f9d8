package io.opsec.tls;

import java.io.IOException;
import java.io.InputStream;

import org.bouncycastle.tls.DefaultTlsKeyExchangeFactory;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.TlsDHGroupVerifier;
import org.bouncycastle.tls.TlsDHanonKeyExchange;
import org.bouncycastle.tls.TlsECDHEKeyExchange;
import org.bouncycastle.tls.TlsKeyExchange;
import org.bouncycastle.tls.crypto.DHGroup;
import org.bouncycastle.tls.crypto.TlsDHConfig;
import org.bouncycastle.tls.crypto.TlsECConfig;

/**
 * Makes BouncyCastle's key exchanges as usual and notes which (EC)DH group each one used, for
 * {@link io.opsec.stack.opsec.SessionInfo#keyExchangeGroup()}: in TLS 1.2 BouncyCastle does not
 * record the group in its security parameters (that is a TLS 1.3 field). One per connection.
 */
final class GroupRecorder extends DefaultTlsKeyExchangeFactory {

    private String group;

    /** The group's standard name ("ffdhe2048", "x25519", ...), or null before the key exchange. */
    String group() {
        return group;
    }

    @Override
    public TlsKeyExchange createDHanonKeyExchangeClient(int keyExchange, TlsDHGroupVerifier verifier) {
        return new TlsDHanonKeyExchange(keyExchange, verifier) {
            @Override
            public void processServerKeyExchange(InputStream input) throws IOException {
                super.processServerKeyExchange(input);
                group = name(dhConfig);
            }
        };
    }

    @Override
    public TlsKeyExchange createDHanonKeyExchangeServer(int keyExchange, TlsDHConfig dhConfig) throws IOException {
        group = name(dhConfig);
        return super.createDHanonKeyExchangeServer(keyExchange, dhConfig);
    }

    @Override
    public TlsKeyExchange createECDHEKeyExchangeClient(int keyExchange) {
        return new TlsECDHEKeyExchange(keyExchange) {
            @Override
            public void processServerKeyExchange(InputStream input) throws IOException {
                super.processServerKeyExchange(input);
                group = name(ecConfig);
            }
        };
    }

    @Override
    public TlsKeyExchange createECDHEKeyExchangeServer(int keyExchange, TlsECConfig ecConfig) throws IOException {
        group = name(ecConfig);
        return super.createECDHEKeyExchangeServer(keyExchange, ecConfig);
    }

    private static String name(TlsECConfig config) {
        return config == null ? null : NamedGroup.getName(config.getNamedGroup());
    }

    private static String name(TlsDHConfig config) {
        if (config == null) {
            return null;
        }
        if (config.getNamedGroup() >= 0) {
            return NamedGroup.getName(config.getNamedGroup());
        }
        DHGroup explicit = config.getExplicitGroup();
        for (int i = 0; i < Rfc7919GroupVerifier.GROUPS.size(); i++) {
            DHGroup known = Rfc7919GroupVerifier.GROUPS.get(i);
            if (known.getP().equals(explicit.getP()) && known.getG().equals(explicit.getG())) {
                return Rfc7919GroupVerifier.NAMES.get(i);
            }
        }
        return "dh" + explicit.getP().bitLength(); // never accepted by our client; for completeness
    }
}
