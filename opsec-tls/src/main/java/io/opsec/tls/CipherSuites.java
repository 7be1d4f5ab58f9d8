package io.opsec.tls;

import java.util.LinkedHashMap;
import java.util.Map;

import org.bouncycastle.tls.CipherSuite;
import org.bouncycastle.tls.CipherType;
import org.bouncycastle.tls.KeyExchangeAlgorithm;
import org.bouncycastle.tls.TlsUtils;

/**
 * The TLS 1.2 cipher suites opsec-tls can negotiate, in preference order, with their IANA names.
 *
 * <p>Anonymous suites (draft-paddon-tcp-opsec §4.1 as the READING-NOTES restore it): the AEAD
 * suites of RFC 5288 first (§6 asks for strong privacy and integrity), then the MUST suite
 * 0x0034 and the SHOULD suites of RFC 5246 Appendix A.5. Authenticated suites, used only when a
 * server has a key and certificate (READING-NOTES decision 9): ECDHE with AES-GCM (RFC 5289).
 * No NULL, export, RC4, DES or 3DES suite appears anywhere, so none can be negotiated.
 */
final class CipherSuites {

    /** Anonymous Diffie-Hellman suites, most preferred first. */
    static final int[] ANONYMOUS = {
            CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256,   // 0x00A6, RFC 5288
            CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384,   // 0x00A7, RFC 5288
            CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA,      // 0x0034, draft §4.1 MUST
            CipherSuite.TLS_DH_anon_WITH_AES_256_CBC_SHA,      // 0x003A, draft §4.1 SHOULD
            CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA256,   // 0x006C, draft §4.1 SHOULD
            CipherSuite.TLS_DH_anon_WITH_AES_256_CBC_SHA256,   // 0x006D, draft §4.1 SHOULD
    };

    /** Certificate-authenticated ECDHE suites for ECDSA keys, most preferred first. */
    static final int[] ECDSA = {
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, // 0xC02B, RFC 5289
            CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, // 0xC02C, RFC 5289
    };

    /** Certificate-authenticated ECDHE suites for RSA keys, most preferred first. */
    static final int[] RSA = {
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,   // 0xC02F, RFC 5289
            CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,   // 0xC030, RFC 5289
    };

    private static final Map<Integer, String> NAMES = new LinkedHashMap<>();

    static {
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_128_GCM_SHA256, "TLS_DH_anon_WITH_AES_128_GCM_SHA256");
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_256_GCM_SHA384, "TLS_DH_anon_WITH_AES_256_GCM_SHA384");
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA, "TLS_DH_anon_WITH_AES_128_CBC_SHA");
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_256_CBC_SHA, "TLS_DH_anon_WITH_AES_256_CBC_SHA");
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_128_CBC_SHA256, "TLS_DH_anon_WITH_AES_128_CBC_SHA256");
        NAMES.put(CipherSuite.TLS_DH_anon_WITH_AES_256_CBC_SHA256, "TLS_DH_anon_WITH_AES_256_CBC_SHA256");
        NAMES.put(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        NAMES.put(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
        NAMES.put(CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        NAMES.put(CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
    }

    private CipherSuites() {
    }

    /** True for a suite in the tables above. */
    static boolean isKnown(int suite) {
        return NAMES.containsKey(suite);
    }

    /** The IANA name of a suite in the tables above, or a hex code for any other. */
    static String name(int suite) {
        String n = NAMES.get(suite);
        return n != null ? n : String.format("0x%04X", suite);
    }

    /** Every suite opsec-tls knows, in preference order. */
    static int[] all() {
        return NAMES.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** True for an anonymous Diffie-Hellman suite (no certificate, no peer key). */
    static boolean isAnonymous(int suite) {
        int kx = TlsUtils.getKeyExchangeAlgorithm(suite);
        return kx == KeyExchangeAlgorithm.DH_anon || kx == KeyExchangeAlgorithm.ECDH_anon;
    }

    /** True for a CBC (block cipher) suite, which needs encrypt-then-MAC (RFC 7366). */
    static boolean isCbc(int suite) {
        return TlsUtils.getCipherType(suite) == CipherType.block;
    }
}
