package io.opsec.stack.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import net.jqwik.api.Example;
import org.junit.jupiter.api.Test;

/**
 * The leak check itself: the detector mechanism is exercised directly (leak, then
 * {@link NettyLeakCheck#collect()}) so that the deliberate leaks never fail this suite.
 */
class LeakCheckTest {

    @Test
    void extensionIsAutodetected_throughSurefire() {
        assertTrue(LeakCheckExtension.isActiveFor(LeakCheckTest.class),
                "LeakCheckExtension did not run beforeAll: autodetection is not working");
        assertTrue(NettyLeakCheck.isInstalled());
        assertFalse(NettyLeakCheck.usesListenerFallback(),
                "the recording factory was installed too late for AbstractByteBuf");
        assertEquals(ResourceLeakDetector.Level.PARANOID, ResourceLeakDetector.getLevel());
    }

    @Test
    void leakedUnpooledBuffer_isReported_withItsCreationSite() {
        leakUnpooled();
        List<NettyLeakCheck.Leak> leaks = NettyLeakCheck.collect();
        assertEquals(1, leaks.size(), leaks::toString);
        assertTrue(leaks.get(0).records().contains("leakUnpooled"), leaks.get(0).records());
        assertTrue(leaks.get(0).records().contains("touched-by-test"), leaks.get(0).records());
    }

    @Test
    void leakedPooledDirectBuffer_isReported() {
        leakPooled();
        assertEquals(1, NettyLeakCheck.collect().size());
    }

    @Test
    void identicalLeaksFromOneLine_areEachReported() {
        // Netty de-duplicates identical reports per detector; the unique hints defeat that.
        for (int i = 0; i < 3; i++) {
            leakUnpooled();
        }
        assertEquals(3, NettyLeakCheck.collect().size());
        leakUnpooled();
        assertEquals(1, NettyLeakCheck.collect().size(), "a second round from the same line");
    }

    @Test
    void releasedBuffers_areNotReported() {
        ByteBuf a = Unpooled.buffer(16).writeInt(1);
        ByteBuf b = ByteBufAllocator.DEFAULT.directBuffer(16);
        ByteBuf slice = a.retainedSlice();
        a.release();
        slice.release();
        b.release();
        assertEquals(List.of(), NettyLeakCheck.collect());
    }

    @Test
    void collect_forgetsWhatItReturned() {
        leakUnpooled();
        assertEquals(1, NettyLeakCheck.collect().size());
        assertEquals(List.of(), NettyLeakCheck.collect());
    }

    @Test
    void verifyNoLeaks_failsWithTheLeakInTheMessage() {
        leakUnpooled();
        AssertionError e = assertThrows(AssertionError.class,
                () -> LeakCheckExtension.verifyNoLeaks("someTest()"));
        assertTrue(e.getMessage().startsWith("1 Netty leak(s) detected in someTest()"), e.getMessage());
        assertTrue(e.getMessage().contains("leakUnpooled"), e.getMessage());
        LeakCheckExtension.verifyNoLeaks("afterwards"); // nothing left over
    }

    @Test
    void collect_isCheap_whenEverythingWasReleased() {
        // The check runs after every test: a clean test must pay (almost) nothing for it.
        ByteBufAllocator.DEFAULT.directBuffer(16).release();
        assertEquals(0, NettyLeakCheck.liveTracked());
        int rounds = 100;
        long start = System.nanoTime();
        for (int i = 0; i < rounds; i++) {
            NettyLeakCheck.collect();
        }
        long perCheckMicros = (System.nanoTime() - start) / rounds / 1000;
        assertTrue(perCheckMicros < 1_000, "leak check took " + perCheckMicros + " us per clean test");
    }

    @Test
    void liveBuffer_isNotALeak_butIsCountedAsOpen() {
        ByteBuf held = ByteBufAllocator.DEFAULT.directBuffer(16);
        try {
            assertEquals(1, NettyLeakCheck.liveTracked());
            long start = System.nanoTime();
            assertEquals(List.of(), NettyLeakCheck.collect());
            long micros = (System.nanoTime() - start) / 1000;
            org.slf4j.LoggerFactory.getLogger(LeakCheckTest.class)
                    .info("leak check with a live buffer (full GC): {} us", micros);
        } finally {
            held.release();
        }
        assertEquals(0, NettyLeakCheck.liveTracked());
    }

    /** jqwik properties get the same check through {@link LeakCheckHook}. */
    @Example
    void jqwikHook_wrapsEveryProperty() {
        assertTrue(LeakCheckHook.isAroundCurrentProperty(), "LeakCheckHook is not registered for jqwik");
    }

    @Test
    void jqwikHook_isNotAroundJupiterTests() {
        assertFalse(LeakCheckHook.isAroundCurrentProperty());
    }

    private static void leakUnpooled() {
        ByteBuf buf = Unpooled.directBuffer(8).writeLong(42);
        buf.touch("touched-by-test");
    }

    private static void leakPooled() {
        PooledByteBufAllocator.DEFAULT.directBuffer(64).writeLong(7);
    }
}
