package io.opsec.examples.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import fi.iki.elonen.NanoHTTPD;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;





import org.apache.hc.client5.http.DnsResolver;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.DefaultHttpClientConnectionOperator;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.ssl.TlsSocketStrategy;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.config.RegistryBuilder;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.pool.PoolConcurrencyPolicy;
import org.apache.hc.core5.pool.PoolReusePolicy;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * Unmodified third-party HTTP code over the stack (issue 5, item 3), the other pair: Apache
 * HttpClient 5's classic client, whose connection operator takes its sockets from the client
 * stack's {@code SocketFactory} and its addresses from a {@code DnsResolver}, against NanoHTTPD
 * listening through the server stack's {@code ServerSocketFactory}. 200 requests as in
 * {@link OkHttpOverHttpCoreTest}: kept-alive connections, fresh ones, several at once.
 */
@org.junit.jupiter.api.Timeout(180)
class ApacheClientOverNanoHttpdTest {
    private static final int PORT = 8081;
    private static final int BIG = 100 * 1024;

    /** An echo and blob server; records each accepted socket through NanoHTTPD's own hook. */
    private static final class Server extends NanoHTTPD {
        private final TwoStacks stacks;

        Server(TwoStacks stacks) {
            super(TwoStacks.SERVER, PORT);
            this.stacks = stacks;
            setServerSocketFactory(() -> stacks.server.serverSocketFactory().createServerSocket());
        }

        @Override
        protected ClientHandler createClientHandler(Socket socket, InputStream in) {
            stacks.serverSockets.add(socket);
            return super.createClientHandler(socket, in);
        }

        @Override
        public Response serve(IHTTPSession session) {
            String uri = session.getUri();
            try {
                if (uri.equals("/echo") && session.getMethod() == Method.POST) {
                    int length = Integer.parseInt(session.getHeaders().get("content-length"));
                    byte[] body = session.getInputStream().readNBytes(length);
                    return newFixedLengthResponse(Response.Status.OK, "application/octet-stream",
                            new ByteArrayInputStream(body), body.length);
                }
                if (uri.startsWith("/blob/")) {
                    byte[] body = TwoStacks.bytes(BIG, Long.parseLong(uri.substring("/blob/".length())));
                    return newFixedLengthResponse(Response.Status.OK, "application/octet-stream",
                            new ByteArrayInputStream(body), body.length);
                }
                if (uri.startsWith("/hello/")) {
                    return newFixedLengthResponse(Response.Status.OK, MIME_PLAINTEXT,
                            "hello " + uri.substring("/hello/".length()));
                }
                return newFixedLengthResponse(Response.Status.NOT_FOUND, MIME_PLAINTEXT, "no " + uri);
            } catch (IOException e) {
                return newFixedLengthResponse(Response.Status.INTERNAL_ERROR, MIME_PLAINTEXT, e.toString());
            }
        }
    }

    @Test
    void apacheClient_nanoHttpdServer_200Requests_everyConnectionSecured() throws Exception {
        try (TwoStacks stacks = new TwoStacks()) {
            Server server = new Server(stacks);
            server.start(30_000, true);
            DnsResolver dns = new DnsResolver() {
                @Override
                public InetAddress[] resolve(String host) throws UnknownHostException {
                    if (!host.equals("server.opsec")) {
                        throw new UnknownHostException(host);
                    }
                    return new InetAddress[] {TwoStacks.serverAddress()};
                }

                @Override
                public String resolveCanonicalHostname(String host) {
                    return host;
                }
            };
            javax.net.SocketFactory sockets = stacks.clientSockets();
            PoolingHttpClientConnectionManager connections = new PoolingHttpClientConnectionManager(
                    new DefaultHttpClientConnectionOperator(proxy -> sockets.createSocket(), null, dns,
                            RegistryBuilder.<TlsSocketStrategy>create().build()),
                    PoolConcurrencyPolicy.STRICT, PoolReusePolicy.LIFO, TimeValue.NEG_ONE_MILLISECOND, null);
            connections.setDefaultConnectionConfig(ConnectionConfig.custom()
                    .setConnectTimeout(Timeout.ofSeconds(30)).setSocketTimeout(Timeout.ofSeconds(30)).build());
            connections.setMaxTotal(8);
            connections.setDefaultMaxPerRoute(8);
            try (CloseableHttpClient client = HttpClients.custom().setConnectionManager(connections)
                    .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(30)).build())
                    .disableAutomaticRetries() // a failure must fail the test, not be retried away
                    .build()) {
                TwoStacks.twoHundredRequests((i, close) -> exchange(client, i, close));
                stacks.assertEveryConnectionSecured(11);
            } finally {
                server.stop();
            }
        }
    }

    private static void exchange(CloseableHttpClient client, int i, boolean close) throws IOException {
        String base = "http://server.opsec:" + PORT;
        ClassicHttpRequest request;
        byte[] expected;
        switch (i % 5) {
            case 0 -> {
                expected = TwoStacks.bytes(BIG, i);
                HttpPost post = new HttpPost(base + "/echo");
                post.setEntity(new ByteArrayEntity(expected, ContentType.APPLICATION_OCTET_STREAM));
                request = post;
            }
            case 2 -> {
                expected = TwoStacks.bytes(BIG, i);
                request = new HttpGet(base + "/blob/" + i);
            }
            default -> {
                expected = ("hello " + i).getBytes(StandardCharsets.UTF_8);
                request = new HttpGet(base + "/hello/" + i);
            }
        }
        if (close) {
            request.setHeader("Connection", "close");
        }
        byte[] got = client.execute(request, response -> {
            assertEquals(200, response.getCode(), () -> "request " + i);
            return EntityUtils.toByteArray(response.getEntity());
        });
        assertArrayEquals(expected, got, "request " + i);
    }
}
