package io.opsec.stack.opsec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class OpsecPathCacheTest {
    private static final long SEC = 1_000_000_000L;

    @Test
    void markedPath_isBrokenUntilItsTtlRunsOut() {
        OpsecPathCache c = new OpsecPathCache(600 * SEC, 8);
        c.markBroken(42, 1000 * SEC);
        assertTrue(c.isBroken(42, 1000 * SEC));
        assertTrue(c.isBroken(42, 1599 * SEC));
        assertFalse(c.isBroken(42, 1600 * SEC));
        assertEquals(0, c.size());
        assertFalse(c.isBroken(43, 1000 * SEC));
    }

    @Test
    void cache_isBounded_oldestMarkGoesFirst() {
        OpsecPathCache c = new OpsecPathCache(600 * SEC, 2);
        c.markBroken(1, 0);
        c.markBroken(2, 0);
        c.markBroken(3, 0);
        assertEquals(2, c.size());
        assertFalse(c.isBroken(1, 1));
        assertTrue(c.isBroken(3, 1));
    }

    @Test
    void forget_clearsAMark() {
        OpsecPathCache c = OpsecPathCache.defaults();
        c.markBroken(7, 0);
        c.forget(7);
        assertFalse(c.isBroken(7, 1));
    }

    @Test
    void policy_defaultsTurnOpsecOffTowardTlsPorts() {
        OpsecPolicy p = OpsecPolicy.defaults();
        assertEquals(OpsecMode.OFF, p.modeFor(443));
        assertEquals(OpsecMode.OFF, p.modeFor(8443));
        assertEquals(OpsecMode.OPPORTUNISTIC, p.modeFor(80));
        assertEquals(OpsecMode.REQUIRED, p.resolve(OpsecMode.REQUIRED, 443));
        assertEquals(OpsecMode.OPPORTUNISTIC, p.withPort(443, OpsecMode.OPPORTUNISTIC).modeFor(443));
        assertEquals(OpsecMode.OFF, OpsecPolicy.everywhere(OpsecMode.OFF).modeFor(80));
    }
}
