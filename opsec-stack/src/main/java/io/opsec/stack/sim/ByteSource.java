package io.opsec.stack.sim;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.SplittableRandom;

/**
 * One direction of a simulated transfer: a deterministic stream of pseudo-random bytes from a
 * seed, generated in fixed blocks so the sender and the receiver's checker produce the same
 * sequence however the bytes are cut up. Keeps a SHA-256 of the bytes passed through it.
 */
final class ByteSource {
    static final int BLOCK = 16 * 1024;

    private final SplittableRandom random;
    private final byte[] block = new byte[BLOCK];
    private int pos = BLOCK;
    private long count;
    private final MessageDigest sha;

    ByteSource(long seed) {
        this.random = new SplittableRandom(seed);
        try {
            this.sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The bytes at the current position: {@code block()[offset()..offset() + available()]}. */
    byte[] block() {
        refill();
        return block;
    }

    int offset() {
        refill();
        return pos;
    }

    int available() {
        refill();
        return BLOCK - pos;
    }

    /** Moves past {@code n} bytes of the current block, hashing them. */
    void advance(int n) {
        sha.update(block, pos, n);
        pos += n;
        count += n;
    }

    /**
     * Compares {@code data[0..len)} with the next bytes of the stream and moves past them.
     *
     * @return the index in {@code data} of the first byte that differs, or -1
     */
    int verify(byte[] data, int len) {
        int mismatch = -1;
        int i = 0;
        while (i < len) {
            refill();
            int n = Math.min(len - i, BLOCK - pos);
            if (mismatch < 0) {
                for (int k = 0; k < n; k++) {
                    if (data[i + k] != block[pos + k]) {
                        mismatch = i + k;
                        break;
                    }
                }
            }
            pos += n;
            i += n;
        }
        sha.update(data, 0, len);
        count += len;
        return mismatch;
    }

    /** Bytes passed so far. */
    long count() {
        return count;
    }

    /** SHA-256 of the bytes passed so far (the digest keeps running). */
    byte[] sha256() {
        try {
            return ((MessageDigest) sha.clone()).digest();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    private void refill() {
        if (pos == BLOCK) {
            random.nextBytes(block);
            pos = 0;
        }
    }
}
