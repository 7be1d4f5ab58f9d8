package io.opsec.stack.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The SYN cookie arithmetic (RFC 4987 §3.6) on its own; the listener's use of it is in TcpSynCookieTest. */
class SynCookiesTest {
    static final long SEC = 1_000_000_000L;
    static final int L = 0x0A000001, R = 0x0A000002;
    final SynCookies cookies = new SynCookies(secret(1));

    static byte[] secret(int seed) {
        byte[] s = new byte[32];
        new SplittableRandom(seed).nextBytes(s);
        return s;
    }

    @Test
    void sipHash_matchesTheReferenceVector_forThreeWords() {
        long k0 = 0x0706050403020100L;
        long k1 = 0x0f0e0d0c0b0a0908L;
        // Reference implementation, key 00..0f, message 00..17 (24 bytes): vectors[24].
        assertEquals(0xb8ad50c6f649af94L, IsnGenerator.SipHash.hash(k0, k1,
                new long[] {0x0706050403020100L, 0x0f0e0d0c0b0a0908L, 0x1716151413121110L}));
    }

    @Test
    void roundTrip_givesBackMssTimestampsAndExtensionState() {
        for (int mssIndex = 0; mssIndex < 4; mssIndex++) {
            for (int ext = 0; ext < 16; ext++) {
                for (boolean ts : new boolean[] {false, true}) {
                    int c = cookies.encode(L, 80, R, 40000, 12345, 5 * SEC, mssIndex, ts, ext);
                    SynCookies.Decoded d = cookies.decode(L, 80, R, 40000, 12345, c, 5 * SEC);
                    assertEquals(new SynCookies.Decoded(SynCookies.MSS_TABLE[mssIndex], ts, ext), d);
                }
            }
        }
    }

    @Test
    void validForItsSlotAndTheNext_thenStale() {
        long t = 10 * SEC; // slot 0 is [0, 64 s)
        int c = cookies.encode(L, 80, R, 40000, -1, t, 3, true, 5);
        assertTrue(cookies.decode(L, 80, R, 40000, -1, c, 63 * SEC) != null);
        assertTrue(cookies.decode(L, 80, R, 40000, -1, c, 127 * SEC) != null, "the next slot");
        assertNull(cookies.decode(L, 80, R, 40000, -1, c, 128 * SEC), "two slots later");
        assertNull(cookies.decode(L, 80, R, 40000, -1, c, 200 * SEC), "three slots later");
        assertNull(cookies.decode(L, 80, R, 40000, -1, c, -1 * SEC), "from the future");
    }

    @Test
    void negativeClock_works() {
        long t = -1000 * SEC; // the runtime's System.nanoTime() may be negative
        int c = cookies.encode(L, 80, R, 40000, 7, t, 1, false, 0);
        assertTrue(cookies.decode(L, 80, R, 40000, 7, c, t + 70 * SEC) != null);
    }

    @Test
    void anyOtherTupleIsnSecretOrBitFlip_fails() {
        int c = cookies.encode(L, 80, R, 40000, 999, SEC, 2, true, 9);
        assertNull(cookies.decode(L, 81, R, 40000, 999, c, SEC), "local port");
        assertNull(cookies.decode(L, 80, R, 40001, 999, c, SEC), "remote port");
        assertNull(cookies.decode(L, 80, R + 1, 40000, 999, c, SEC), "remote address");
        assertNull(cookies.decode(L + 1, 80, R, 40000, 999, c, SEC), "local address");
        assertNull(cookies.decode(L, 80, R, 40000, 1000, c, SEC), "peer ISN");
        assertNull(new SynCookies(secret(2)).decode(L, 80, R, 40000, 999, c, SEC), "other secret");
        for (int bit = 0; bit < 32; bit++) {
            assertNull(cookies.decode(L, 80, R, 40000, 999, c ^ (1 << bit), SEC), "bit " + bit);
        }
    }

    @Test
    void blindGuesses_almostNeverPass() {
        SplittableRandom r = new SplittableRandom(3);
        int hits = 0;
        for (int i = 0; i < 1_000_000; i++) {
            if (cookies.decode(L, 80, R, 40000, 999, r.nextInt(), SEC) != null) {
                hits++;
            }
        }
        // 2^-24 per guess: about 0.06 expected in a million.
        assertTrue(hits <= 2, "hits " + hits);
    }

    @Test
    void cookiesLookRandom_theClearBitsAreWhitened() {
        Set<Integer> tops = new HashSet<>();
        for (int port = 40000; port < 40200; port++) {
            tops.add(cookies.encode(L, 80, R, port, 0, SEC, 3, true, 0) >>> 24);
        }
        assertTrue(tops.size() > 100, "top bytes seen: " + tops.size());
        assertNotEquals(cookies.encode(L, 80, R, 40000, 0, SEC, 3, true, 0),
                cookies.encode(L, 80, R, 40000, 0, 65 * SEC, 3, true, 0), "another slot, another cookie");
    }

    @Test
    void mssIndex_roundsDown_andRefusesBelow536() {
        assertEquals(-1, SynCookies.mssIndex(535));
        assertEquals(0, SynCookies.mssIndex(536));
        assertEquals(0, SynCookies.mssIndex(1299));
        assertEquals(1, SynCookies.mssIndex(1300));
        assertEquals(2, SynCookies.mssIndex(1459));
        assertEquals(3, SynCookies.mssIndex(1460));
        assertEquals(3, SynCookies.mssIndex(9000));
    }

    @Test
    void tsValue_carriesTheOptions_andNeverRunsAhead() {
        for (int now : new int[] {0, 1, 31, 32, 1000, -1, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            for (int wscale = -1; wscale <= 14; wscale++) {
                for (boolean sack : new boolean[] {false, true}) {
                    int v = SynCookies.tsValue(now, SynCookies.tsOptions(wscale, sack));
                    assertEquals(wscale, SynCookies.peerWscale(v));
                    assertEquals(sack, SynCookies.sack(v));
                    int behind = now - v;
                    assertTrue(behind >= 0 && behind < 32, "TSval " + v + " for clock " + now);
                }
            }
        }
        assertEquals(14, SynCookies.peerWscale(SynCookies.tsOptions(15, false)), "RFC 7323 §2.3: 14 at most");
        assertFalse(SynCookies.sack(SynCookies.tsOptions(3, false)));
    }
}
