package io.opsec.tls;

import java.util.List;

import org.bouncycastle.tls.TlsDHGroupVerifier;
import org.bouncycastle.tls.crypto.DHGroup;
import org.bouncycastle.tls.crypto.DHStandardGroups;

/**
 * Accepts a server's finite-field Diffie-Hellman group only when it is one of the RFC 7919
 * groups (ffdhe2048 ... ffdhe8192) and at least as large as the configured minimum
 * (READING-NOTES decision 8). A refused group ends the handshake with insufficient_security
 * (RFC 5246 §7.2.2; BouncyCastle raises it when {@link #accept(DHGroup)} says no).
 *
 * <p>Matching the exact published groups, rather than checking the size of whatever prime the
 * server sent, rules out the weak or trapdoored custom groups that a size check cannot see
 * (RFC 7919 §1, §5.1: known safe primes avoid the cost and risk of validating arbitrary ones).
 */
final class Rfc7919GroupVerifier implements TlsDHGroupVerifier {

    /** The RFC 7919 groups, smallest first; {@link #NAMES} in the same order. */
    static final List<String> NAMES = List.of("ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144", "ffdhe8192");

    static final List<DHGroup> GROUPS = List.of(
            DHStandardGroups.rfc7919_ffdhe2048,
            DHStandardGroups.rfc7919_ffdhe3072,
            DHStandardGroups.rfc7919_ffdhe4096,
            DHStandardGroups.rfc7919_ffdhe6144,
            DHStandardGroups.rfc7919_ffdhe8192);

    private final int minimumPrimeBits;

    Rfc7919GroupVerifier(int minimumPrimeBits) {
        this.minimumPrimeBits = minimumPrimeBits;
    }

    @Override
    public boolean accept(DHGroup group) {
        if (group.getP().bitLength() < minimumPrimeBits) {
            return false;
        }
        for (int i = 0; i < GROUPS.size(); i++) {
            DHGroup known = GROUPS.get(i);
            if (known.getP().equals(group.getP()) && known.getG().equals(group.getG())) {
                return true;
            }
        }
        return false;
    }
}
