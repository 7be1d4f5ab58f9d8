package io.opsec.stack.tcp;

/**
 * Initial sequence numbers per RFC 6528 §3 (RFC 9293 MUST-8): {@code ISN = M + F(4-tuple, key)},
 * M a clock ticking every 4 microseconds, F SipHash-2-4 keyed with a per-endpoint secret. The
 * same keyed hash (with the other half of the secret) gives each connection its own timestamp
 * offset (RFC 7323 §5.4), so TSval does not reveal the host's clock.
 */
interface IsnGenerator {
    int isn(int localAddr, int localPort, int remoteAddr, int remotePort, long now);

    int timestampOffset(int localAddr, int localPort, int remoteAddr, int remotePort);

    /** The RFC 6528 generator over a 32-byte secret. */
    static IsnGenerator rfc6528(byte[] secret) {
        if (secret.length != 32) {
            throw new IllegalArgumentException("the ISN secret is 32 bytes, not " + secret.length);
        }
        long k0 = le64(secret, 0), k1 = le64(secret, 8), k2 = le64(secret, 16), k3 = le64(secret, 24);
        return new IsnGenerator() {
            @Override
            public int isn(int localAddr, int localPort, int remoteAddr, int remotePort, long now) {
                long m = now / 4_000L; // RFC 6528 §3: M, a timer of 4 microsecond ticks
                long f = SipHash.hash(k0, k1, ((long) localAddr << 32) | (remoteAddr & 0xFFFFFFFFL),
                        ((long) localPort << 16) | remotePort);
                return (int) (m + f);
            }

            @Override
            public int timestampOffset(int localAddr, int localPort, int remoteAddr, int remotePort) {
                return (int) SipHash.hash(k2, k3, ((long) localAddr << 32) | (remoteAddr & 0xFFFFFFFFL),
                        ((long) localPort << 16) | remotePort);
            }
        };
    }

    /** The little-endian 64-bit word at {@code off}. */
    static long le64(byte[] b, int off) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }

    /** SipHash-2-4 over whole 64-bit words (a message of 8·n bytes), per Aumasson and Bernstein. */
    final class SipHash {
        private SipHash() {}

        /** A 16-byte message. */
        static long hash(long k0, long k1, long m0, long m1) {
            return hash(k0, k1, new long[] {m0, m1});
        }

        /** A message of {@code 8 * words.length} bytes, each word little-endian. */
        static long hash(long k0, long k1, long[] words) {
            long v0 = 0x736f6d6570736575L ^ k0;
            long v1 = 0x646f72616e646f6dL ^ k1;
            long v2 = 0x6c7967656e657261L ^ k0;
            long v3 = 0x7465646279746573L ^ k1;
            for (long m : words) {
                v3 ^= m;
                for (int r = 0; r < 2; r++) {
                    v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                    v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                    v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                    v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
                }
                v0 ^= m;
            }
            long b = (8L * words.length) << 56;
            v3 ^= b;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= b;
            v2 ^= 0xff;
            for (int r = 0; r < 4; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            return v0 ^ v1 ^ v2 ^ v3;
        }
    }
}
