package io.opsec.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.tcp.TcpConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The kernel lab's strict half-close through the blocking socket API, on real threads (what the
 * simulator cannot show: the application thread writing, finishing the stream and posting
 * {@code shutdownOutput()} while the event loop drains it): the client writes 1 MiB in 32 KiB
 * writes and shuts output at once; the server reads to end of stream, only then answers. Every
 * round must deliver every byte before the FIN, over a path with loss, reordering, duplication and
 * one-bit corruption. {@code -Dhalfclose.rounds=N} for a longer run.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HalfCloseThreadsTest {
    private static final int ROUNDS = Integer.getInteger("halfclose.rounds", 6);
    private static final int UP = 1 << 20;
    private static final int DOWN = 256 << 10;

    @Test
    void strictHalfClose_blockingSockets_everyByteBeforeTheFin() throws Exception {
        Impairments path = Impairments.builder().latency(Duration.ofMillis(1)).loss(0.01).corrupt(0.01)
                .reorder(0.02, Duration.ofMillis(3)).duplicate(0.01).build();
        for (int round = 0; round < ROUNDS; round++) {
            MemoryLink.Pair wire = MemoryLink.builder().seed(round).impairments(path).build();
            // TCP's send queue at the old default, so the socket's stream is still full when the
            // application shuts output (with 1 MiB it all fits in TCP before the FIN is considered).
            OpsecStack a = OpsecStack.builder().name("a").address("198.18.0.1").link(wire.a())
                    .tcp(TcpConfig.builder().sendBufferSize(256 << 10).build()).build();
            OpsecStack b = OpsecStack.builder().name("b").address("198.18.0.2").link(wire.b()).build();
            try (ServerSocket ss = b.serverSocketFactory().createServerSocket(7)) {
                CompletableFuture<byte[]> server = CompletableFuture.supplyAsync(() -> {
                    try (Socket s = ss.accept()) {
                        byte[] got = s.getInputStream().readAllBytes(); // to our FIN
                        s.getOutputStream().write(new byte[DOWN]);
                        return got;
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                try (Socket c = a.socketFactory().createSocket("198.18.0.2", 7)) {
                    byte[] sent = new byte[UP];
                    new SplittableRandom(round).nextBytes(sent);
                    OutputStream out = c.getOutputStream();
                    for (int off = 0; off < UP; off += 32 << 10) {
                        out.write(sent, off, 32 << 10);
                    }
                    c.shutdownOutput();
                    InputStream in = c.getInputStream();
                    assertEquals(DOWN, in.readAllBytes().length, "round " + round + ": what the server sent after our FIN");
                    byte[] got = server.get(60, TimeUnit.SECONDS);
                    assertEquals(UP, got.length, "round " + round + ": bytes before our FIN");
                    assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(sent),
                            MessageDigest.getInstance("SHA-256").digest(got), "round " + round);
                }
            } finally {
                a.close();
                b.close();
            }
        }
    }
}
