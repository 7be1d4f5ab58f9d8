package io.opsec.tls.stack;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.MemoryLink;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The README's short example, kept compiling and true. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReadmeExampleTest {

    @Test
    void readmeExample_isSecured() throws Exception {
        MemoryLink.Pair wire = MemoryLink.pair();                       // an in-memory cable
        OpsecStack a = OpsecStack.builder().address("198.18.0.1").link(wire.a()).build();
        OpsecStack b = OpsecStack.builder().address("198.18.0.2").link(wire.b()).build();

        try (ServerSocket server = b.serverSocketFactory().createServerSocket(7)) {
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                    return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            boolean secured;
            try (Socket client = a.socketFactory().createSocket("198.18.0.2", 7)) {
                client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                secured = ((OpsecSocket) client).security().isSecured();   // true: TLS under the hood
            }
            assertTrue(secured);
            assertTrue(received.get(30, TimeUnit.SECONDS).equals("hello"));
        } finally {
            a.close();
            b.close();
        }
    }
}
