package io.opsec.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ByteStreamTest {

    @Test
    void offerThenRead_deliversBytesInOrder_andCountsChanges() throws IOException {
        AtomicInteger changes = new AtomicInteger();
        ByteStream s = new ByteStream(8, changes::incrementAndGet);
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        assertEquals(8, s.offer(in));
        assertEquals(2, in.readableBytes());
        in.release();
        byte[] b = new byte[5];
        assertEquals(5, s.read(b, 0, 5, 0));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, b);
        assertEquals(1, changes.get());
        assertEquals(5, s.space());
        s.close();
    }

    @Test
    void read_timesOut_andTheStreamStillWorksAfterwards() throws IOException {
        ByteStream s = new ByteStream(8, () -> { });
        assertThrows(SocketTimeoutException.class, () -> s.read(new byte[1], 0, 1, 20));
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {42});
        s.offer(in);
        in.release();
        byte[] b = new byte[1];
        assertEquals(1, s.read(b, 0, 1, 20));
        assertEquals(42, b[0]);
        s.close();
    }

    @Test
    void finish_givesEndOfStreamAfterQueuedBytes() throws IOException {
        ByteStream s = new ByteStream(8, () -> { });
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {7});
        s.offer(in);
        in.release();
        s.finish();
        byte[] b = new byte[4];
        assertEquals(1, s.read(b, 0, 4, 0));
        assertEquals(-1, s.read(b, 0, 4, 0));
        assertTrue(s.isDrainedAndFinished());
        s.close();
    }

    @Test
    void failure_isDeliveredAfterQueuedData_asAConnectionReset() throws IOException {
        ByteStream s = new ByteStream(8, () -> { });
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {7});
        s.offer(in);
        in.release();
        s.fail(new SocketException("Connection reset"));
        assertEquals(1, s.read(new byte[4], 0, 4, 0));
        SocketException e = assertThrows(SocketException.class, () -> s.read(new byte[4], 0, 4, 0));
        assertEquals("Connection reset", e.getMessage());
        s.close();
    }

    @Test
    void write_blocksWhenFull_untilTheLoopTakes() throws Exception {
        ByteStream s = new ByteStream(4, () -> { });
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                s.write(new byte[] {1, 2, 3, 4, 5, 6}, 0, 6, 0);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        ByteBuf got = Unpooled.buffer();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.readableBytes() < 6 && System.nanoTime() < deadline) {
            if (s.drainTo(3, data -> got.writeBytes(data)) == 0) {
                Thread.onSpinWait();
            }
        }
        writer.get(10, TimeUnit.SECONDS);
        assertEquals(6, got.readableBytes());
        got.release();
        assertEquals(0, s.drainTo(1, data -> got.writeBytes(data)));
        s.close();
    }

    @Test
    void closeFromAThirdThread_unblocksReaderAndWriter() throws Exception {
        ByteStream in = new ByteStream(4, () -> { });
        ByteStream out = new ByteStream(1, () -> { });
        out.write(new byte[] {1}, 0, 1, 0); // full now
        CompletableFuture<Throwable> reader = CompletableFuture.supplyAsync(() -> {
            try {
                in.read(new byte[1], 0, 1, 0);
                return null;
            } catch (IOException e) {
                return e;
            }
        });
        CompletableFuture<Throwable> writer = CompletableFuture.supplyAsync(() -> {
            try {
                out.write(new byte[] {2}, 0, 1, 0);
                return null;
            } catch (IOException e) {
                return e;
            }
        });
        CompletableFuture.runAsync(() -> {
            in.close();
            out.close();
        }).get(10, TimeUnit.SECONDS);
        assertEquals("Socket closed", reader.get(10, TimeUnit.SECONDS).getMessage());
        assertEquals("Socket closed", writer.get(10, TimeUnit.SECONDS).getMessage());
    }

    @Test
    void writeAfterFinish_isRefused() {
        ByteStream s = new ByteStream(4, () -> { });
        s.finish();
        SocketException e = assertThrows(SocketException.class, () -> s.write(new byte[1], 0, 1, 0));
        assertEquals("Socket output is shutdown", e.getMessage());
        s.close();
    }
    @Test
    void emptyStream_holdsNoBuffer_andDropsItOnceDrained() throws IOException {
        ByteStream s = new ByteStream(256 * 1024, () -> { });
        assertEquals(0, s.bufferCapacity());
        s.write(new byte[100], 0, 100, 0);
        assertTrue(s.bufferCapacity() >= 100 && s.bufferCapacity() <= ByteStream.MIN_ALLOCATION);
        assertEquals(60, s.read(new byte[60], 0, 60, 0));
        assertTrue(s.bufferCapacity() > 0);
        assertEquals(40, s.read(new byte[60], 0, 60, 0));
        assertEquals(0, s.bufferCapacity());
        s.close();
    }

    @Test
    void read_wakesTheLoop_onlyWhenItAskedForRoom() throws IOException {
        AtomicInteger changes = new AtomicInteger();
        ByteStream s = new ByteStream(8, changes::incrementAndGet);
        ByteBuf in = Unpooled.wrappedBuffer(new byte[] {1, 2, 3});
        s.offer(in);
        in.release();
        s.read(new byte[1], 0, 1, 0);
        assertEquals(0, changes.get()); // the loop had room: no wake-up
        s.awaitRoom();
        s.read(new byte[1], 0, 1, 0);
        assertEquals(1, changes.get());
        s.read(new byte[1], 0, 1, 0);
        assertEquals(1, changes.get()); // asked once, woken once
        s.close();
    }

    @Test
    void drainTo_handsTheQueuedBytesWithoutCopying_andKeepsWhatTheSinkLeft() throws Exception {
        ByteStream s = new ByteStream(16, () -> { });
        s.write(new byte[] {1, 2, 3, 4, 5, 6}, 0, 6, 0);
        ByteBuf got = Unpooled.buffer();
        assertEquals(4, s.drainTo(5, data -> {
            assertEquals(5, data.readableBytes());
            got.writeBytes(data, 4); // takes 4 of the 5 offered
        }));
        assertEquals(2, s.queued());
        assertEquals(2, s.drainTo(100, data -> got.writeBytes(data)));
        assertEquals(0, s.drainTo(100, data -> got.writeBytes(data)));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6}, io.netty.buffer.ByteBufUtil.getBytes(got));
        assertEquals(0, s.bufferCapacity());
        got.release();
        s.close();
    }

    @Test
    void drainTo_wakesABlockedWriter() throws Exception {
        ByteStream s = new ByteStream(4, () -> { });
        s.write(new byte[4], 0, 4, 0); // full
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                s.write(new byte[] {9}, 0, 1, 0);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        int drained = 0;
        while (drained < 5 && System.nanoTime() < deadline) {
            drained += s.drainTo(2, data -> data.skipBytes(data.readableBytes()));
        }
        writer.get(10, TimeUnit.SECONDS);
        assertEquals(5, drained);
        s.close();
    }
}
