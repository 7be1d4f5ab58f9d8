package io.opsec.examples.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;

/**
 * 1-byte request/response over one connection with TCP_NODELAY at both ends: the client writes a
 * byte and waits for the server's echo. Each round trip is timed on its own; after a warm-up of
 * {@code count / 5}, the figures are the 50th and 99th percentiles of {@code count} round trips.
 */
final class RoundTrip {
    /** Percentiles in microseconds. */
    record Result(double p50Micros, double p99Micros) {
        static final Result FAILED = new Result(Double.NaN, Double.NaN);
    }

    private RoundTrip() {}

    static Result run(Endpoints.Factory factory, int count, long deadlineNanos) throws IOException {
        try (Endpoints.Connection c = factory.connect(true)) {
            InputStream sin = c.serverIn();
            OutputStream sout = c.serverOut();
            int warm = count / 5;
            CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < warm + count; i++) {
                        int b = sin.read();
                        if (b < 0) {
                            return;
                        }
                        sout.write(b);
                        sout.flush();
                    }
                } catch (IOException e) {
                    // the client gave up (time budget) and closed
                }
            });
            InputStream cin = c.clientIn();
            OutputStream cout = c.clientOut();
            long[] times = new long[count];
            for (int i = 0; i < warm + count; i++) {
                if (System.nanoTime() > deadlineNanos) {
                    throw new IOException("round trips over their time budget after " + i);
                }
                long t0 = System.nanoTime();
                cout.write(i & 0x7f);
                cout.flush();
                if (cin.read() < 0) {
                    throw new IOException("the echo ended early");
                }
                if (i >= warm) {
                    times[i - warm] = System.nanoTime() - t0;
                }
            }
            echo.join();
            return new Result(Stats.percentile(times, count, 50) / 1e3, Stats.percentile(times, count, 99) / 1e3);
        }
    }
}
