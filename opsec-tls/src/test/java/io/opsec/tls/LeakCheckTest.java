package io.opsec.tls;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/** The leak check itself: it must see a buffer dropped without release, or it guards nothing. */
@ExtendWith(LeakCheck.class)
class LeakCheckTest {

    @Test
    void droppedBuffer_isReported() throws Exception {
        leakOne();
        assertFalse(LeakCheck.collectLeaks().isEmpty(), "the detector saw the dropped buffer");
    }

    @Test
    void releasedBuffer_isNotReported() throws Exception {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(16).writeInt(1);
        b.release();
        assertTrue(LeakCheck.collectLeaks().isEmpty());
    }

    private static void leakOne() {
        PooledByteBufAllocator.DEFAULT.buffer(16).writeInt(42); // deliberately never released
    }
}
