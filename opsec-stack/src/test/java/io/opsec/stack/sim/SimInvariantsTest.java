package io.opsec.stack.sim;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.link.Middlebox;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The invariant checks themselves: a path that breaks a rule in a way TCP cannot see must make
 * the run fail, naming the rule. Without these, a passing sweep could mean a blind checker.
 */
class SimInvariantsTest {

    /**
     * Swaps the first two 16-bit words of the payload of the {@code nth} data segment: the
     * Internet checksum is a sum of 16-bit words, so it still verifies and TCP delivers the wrong bytes.
     */
    private static Middlebox checksumPreservingCorruption(int nth) {
        int[] seen = {0};
        return (p, now) -> {
            int base = p.readerIndex();
            int ihl = (p.getByte(base) & 0x0f) * 4;
            int total = p.getUnsignedShort(base + 2);
            int tcpHeader = ((p.getByte(base + ihl + 12) >> 4) & 0x0f) * 4;
            int payload = base + ihl + tcpHeader;
            if (base + total - payload >= 4 && ++seen[0] == nth) {
                int a = p.getUnsignedShort(payload);
                int b = p.getUnsignedShort(payload + 2);
                if (a != b) {
                    p.setShort(payload, b);
                    p.setShort(payload + 2, a);
                } else {
                    seen[0]--; // try the next one
                }
            }
            return p;
        };
    }

    @Test
    void corruptionTheChecksumsCannotSee_failsTheRun_atTheRightByte() {
        SimResult r = Sim.seed(21).profile(Profile.CLEAN).scenario(Scenario.BULK_UP)
                .middlebox(0, checksumPreservingCorruption(5)).run();
        assertFalse(r.passed(), "a corrupted delivery passed the byte-exact check");
        assertTrue(r.violations().stream().anyMatch(v -> v.contains("differs from what was sent")), r.report());
        assertTrue(r.violations().stream().anyMatch(v -> v.contains("SHA-256 differs")), r.report());
    }

    @Test
    void aBufferNeverReleased_failsTheRun() {
        List<ByteBuf> kept = new ArrayList<>();
        Middlebox keepOne = (p, now) -> {
            if (kept.isEmpty()) {
                kept.add(p.retain()); // one reference the path never gives back
            }
            return p;
        };
        try {
            SimResult r = Sim.seed(22).profile(Profile.CLEAN).scenario(Scenario.BULK_UP).bytes(4096)
                    .middlebox(0, keepOne).run();
            assertFalse(r.passed());
            assertTrue(r.violations().stream().anyMatch(v -> v.contains("never released")), r.report());
        } finally {
            kept.forEach(ByteBuf::release);
        }
    }

    @Test
    void aConnectionThatNeverEnds_failsTheRun() {
        // Every FIN from the server vanishes: the client never sees the end of stream.
        Middlebox dropFins = (p, now) -> {
            int base = p.readerIndex();
            int ihl = (p.getByte(base) & 0x0f) * 4;
            if ((p.getByte(base + ihl + 13) & 0x01) != 0) {
                p.release();
                return null;
            }
            return p;
        };
        SimResult r = Sim.seed(23).profile(Profile.CLEAN).scenario(Scenario.BULK_DOWN).bytes(4096)
                .middlebox(1, dropFins).deadline(java.time.Duration.ofMinutes(10)).run();
        assertFalse(r.passed());
        assertTrue(r.violations().stream().anyMatch(v -> v.contains("never saw the end of stream")
                || v.contains("still open") || v.contains("to end (bound")), r.report());
    }
}
