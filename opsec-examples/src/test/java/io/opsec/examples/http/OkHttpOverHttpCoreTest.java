package io.opsec.examples.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import java.util.List;

import java.util.concurrent.CopyOnWriteArrayList;




import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.apache.hc.core5.http.ConnectionClosedException;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.ExceptionListener;
import org.apache.hc.core5.http.HttpConnection;
import org.apache.hc.core5.http.HttpStatus;
import org.apache.hc.core5.http.impl.bootstrap.HttpServer;
import org.apache.hc.core5.http.impl.bootstrap.ServerBootstrap;
import org.apache.hc.core5.http.impl.io.DefaultBHttpServerConnectionFactory;
import org.apache.hc.core5.http.io.SocketConfig;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * Unmodified third-party HTTP code over the stack (issue 5, item 3): OkHttp 4 as the client, with
 * the client stack's {@code SocketFactory} and a {@code Dns} that names the server, against Apache
 * HttpCore 5's classic server listening through the server stack's {@code ServerSocketFactory}.
 * 200 requests: small GETs, 40 uploads of 100 KiB echoed back and 40 downloads of 100 KiB, on kept-alive
 * connections, on fresh ones ({@code Connection: close}) and on several at once.
 */
@org.junit.jupiter.api.Timeout(180)
class OkHttpOverHttpCoreTest {
    private static final int PORT = 8080;
    private static final int BIG = 100 * 1024;
    private static final MediaType OCTETS = MediaType.get("application/octet-stream");

    @Test
    void okHttpClient_httpCoreServer_200Requests_everyConnectionSecured() throws Exception {
        List<Exception> serverErrors = new CopyOnWriteArrayList<>();
        try (TwoStacks stacks = new TwoStacks()) {
            HttpServer server = ServerBootstrap.bootstrap()
                    .setListenerPort(PORT)
                    .setCanonicalHostName("server.opsec") // requests for another authority get 421
                    .setServerSocketFactory(stacks.server.serverSocketFactory())
                    .setSocketConfig(SocketConfig.custom().setSoTimeout(Timeout.ofSeconds(30)).setTcpNoDelay(true).build())
                    .setConnectionFactory(socket -> {
                        stacks.serverSockets.add(socket);
                        return DefaultBHttpServerConnectionFactory.builder().build().createConnection(socket);
                    })
                    .register("/hello/*", (request, response, context) -> {
                        String who = request.getPath().substring("/hello/".length());
                        response.setEntity(new StringEntity("hello " + who, ContentType.TEXT_PLAIN));
                    })
                    .register("/echo", (request, response, context) -> {
                        byte[] body = EntityUtils.toByteArray(request.getEntity());
                        response.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_OCTET_STREAM));
                    })
                    .register("/blob/*", (request, response, context) -> {
                        long seed = Long.parseLong(request.getPath().substring("/blob/".length()));
                        response.setEntity(new ByteArrayEntity(TwoStacks.bytes(BIG, seed), ContentType.APPLICATION_OCTET_STREAM));
                    })
                    .setExceptionListener(new ExceptionListener() {
                        @Override public void onError(Exception ex) { serverErrors.add(ex); }
                        @Override public void onError(HttpConnection c, Exception ex) { serverErrors.add(ex); }
                    })
                    .create();
            server.start();
            OkHttpClient client = new OkHttpClient.Builder()
                    .socketFactory(stacks.clientSockets())
                    .dns(host -> {
                        assertEquals("server.opsec", host);
                        return List.of(TwoStacks.serverAddress());
                    })
                    .callTimeout(Duration.ofSeconds(30))
                    .retryOnConnectionFailure(false) // a failure must fail the test, not be retried away
                    .build();
            try {
                TwoStacks.twoHundredRequests((i, close) -> exchange(client, i, close));
                stacks.assertEveryConnectionSecured(11);
                // HttpCore 5.3's HttpService closes a Connection: close connection and then flushes
                // it, which reports ConnectionClosedException from ensureOpen; the response was
                // already complete (the client checked it). Anything else is a real failure.
                List<Exception> real = serverErrors.stream()
                        .filter(e -> !(e instanceof ConnectionClosedException)).toList();
                assertEquals(List.of(), real, "the server saw no error");
                assertTrue(serverErrors.size() <= 10, serverErrors.toString());
            } finally {
                client.dispatcher().executorService().shutdown();
                client.connectionPool().evictAll();
                server.initiateShutdown();
                server.awaitTermination(TimeValue.ofSeconds(5));
                server.close(CloseMode.IMMEDIATE);
            }
        }
    }

    /**
     * One request by {@code i}: an echoed 100 KiB upload, a 100 KiB download, or three small GETs
     * in five. {@code close} asks for the connection to end after it.
     */
    private static void exchange(OkHttpClient client, int i, boolean close) throws IOException {
        String base = "http://server.opsec:" + PORT;
        Request.Builder b = new Request.Builder();
        if (close) {
            b.header("Connection", "close");
        }
        switch (i % 5) {
            case 0 -> {
                byte[] up = TwoStacks.bytes(BIG, i);
                try (Response r = client.newCall(b.url(base + "/echo").post(RequestBody.create(up, OCTETS)).build())
                        .execute()) {
                    assertEquals(HttpStatus.SC_OK, r.code());
                    assertArrayEquals(up, r.body().bytes(), "echo " + i);
                }
            }
            case 2 -> {
                try (Response r = client.newCall(b.url(base + "/blob/" + i).build()).execute()) {
                    assertEquals(HttpStatus.SC_OK, r.code());
                    assertArrayEquals(TwoStacks.bytes(BIG, i), r.body().bytes(), "blob " + i);
                }
            }
            default -> {
                try (Response r = client.newCall(b.url(URI.create(base + "/hello/" + i).toURL()).build()).execute()) {
                    assertEquals(HttpStatus.SC_OK, r.code());
                    assertEquals("hello " + i, new String(r.body().bytes(), StandardCharsets.UTF_8));
                }
            }
        }
    }

}
