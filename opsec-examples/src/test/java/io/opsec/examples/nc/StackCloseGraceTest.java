package io.opsec.examples.nc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What {@code opsec nc} relies on when it exits: closing a stack right after a graceful socket
 * close still delivers every queued byte, if the stack's close grace allows the time. With the
 * default grace (2 s) this case lost the tail of the stream to a reset: a slow path (here 1 Mbit/s)
 * still had hundreds of KiB queued when the stack was closed.
 */
@Timeout(120)
class StackCloseGraceTest {

    @Test
    void closingTheStack_rightAfterTheSocket_deliversEverythingQueued_withinTheConfiguredGrace() throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(5).nextBytes(data);
        MemoryLink.Pair wire = MemoryLink.builder()
                .impairments(Impairments.builder().bandwidth(1_000_000).queueLimit(1 << 20).build())
                .build();
        try (OpsecStack server = OpsecStack.builder().address("198.18.0.2").link(wire.b()).build();
             ServerSocket listener = server.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = listener.accept()) {
                    s.setSoTimeout(60_000);
                    InputStream in = s.getInputStream();
                    return in.readAllBytes(); // to the FIN; a reset would throw
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            OpsecStack client = OpsecStack.builder().address("198.18.0.1").link(wire.a())
                    .closeGrace(Duration.ofSeconds(60)).build();
            long closing;
            try (Socket s = client.socketFactory().createSocket("198.18.0.2", 7)) {
                s.getOutputStream().write(data); // returns once the last bytes are queued
                closing = System.nanoTime();
            } finally {
                client.close();
            }
            Duration took = Duration.ofNanos(System.nanoTime() - closing);
            assertArrayEquals(data, received.get(60, TimeUnit.SECONDS));
            assertTrue(took.compareTo(OpsecStack.CLOSE_GRACE) > 0,
                    "the close had to outlast the default grace to prove anything, took " + took);
        }
    }
}
