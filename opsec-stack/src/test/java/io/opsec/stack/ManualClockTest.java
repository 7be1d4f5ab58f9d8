package io.opsec.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.opsec.PlainReason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Two stacks on a manual (virtual) clock, driven on one thread through the non-blocking API:
 * the shape the simulator uses. No real time passes.
 */
class ManualClockTest {
    private static final long MS = 1_000_000L;

    private static void step(OpsecStack a, OpsecStack b, long[] now) {
        long next = Math.min(a.nextWakeAt(), b.nextWakeAt());
        if (next > now[0] && next != Long.MAX_VALUE) {
            now[0] = next;
        } else if (next == Long.MAX_VALUE) {
            now[0] += MS;
        }
        a.runOnce(now[0]);
        b.runOnce(now[0]);
    }

    @Test
    void bulkTransferOverALossyLink_onVirtualTime_isByteExact() throws IOException {
        MemoryLink.Pair wire = MemoryLink.builder().seed(42)
                .impairments(Impairments.builder().loss(0.02).latency(Duration.ofMillis(5)).build()).build();
        OpsecStack a = OpsecStack.builder().name("a").address("198.18.0.1").link(wire.a()).manualClock().build();
        OpsecStack b = OpsecStack.builder().name("b").address("198.18.0.2").link(wire.b()).manualClock().build();
        long[] now = {0};
        byte[] data = new byte[200_000];
        new Random(1).nextBytes(data);
        OpsecListener listener = b.listen(80, null);
        OpsecConnection client = a.open(new InetSocketAddress("198.18.0.2", 80), null);
        OpsecConnection server = null;
        ByteBuf toSend = Unpooled.wrappedBuffer(data);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        boolean shut = false;
        for (int i = 0; i < 200_000 && !(server != null && server.isInputEnded()); i++) {
            step(a, b, now);
            if (server == null) {
                server = listener.poll();
            }
            if (client.isSettled() && toSend.isReadable()) {
                client.write(toSend);
            }
            if (!toSend.isReadable() && !shut) {
                client.shutdownOutput();
                shut = true;
            }
            if (server != null) {
                ByteBuf r;
                while ((r = server.read(64 * 1024)) != null) {
                    byte[] chunk = new byte[r.readableBytes()];
                    r.readBytes(chunk);
                    r.release();
                    got.write(chunk);
                }
            }
        }
        toSend.release();
        assertNotNull(server, "never accepted");
        assertTrue(server.isInputEnded(), "no end of stream by virtual time " + now[0] / MS + " ms");
        assertArrayEquals(data, got.toByteArray());
        assertEquals(PlainReason.LOCAL_POLICY, client.security().plainReason().orElseThrow());
        assertTrue(wire.aToB().counters().lost() > 0, "the link lost nothing: the test proves little");
        client.close();
        server.close();
        listener.close();
        for (int i = 0; i < 1000; i++) {
            step(a, b, now);
        }
        a.close();
        b.close();
    }
}
