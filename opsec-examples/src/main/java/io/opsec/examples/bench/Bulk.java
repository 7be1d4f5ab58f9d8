package io.opsec.examples.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bulk transfer over one connection: the client writes {@code bytes} in 64 KiB writes, the
 * server reads and discards them, and one transfer is timed from the first write to the last
 * byte read. One warm-up transfer, then {@code reps} measured ones on the same connection; the
 * figure is the median. Process CPU time is taken over each measured transfer.
 *
 * <p>Every transport runs with TCP_NODELAY: BouncyCastle's blocking TLS writes each record with
 * its own socket write, and with Nagle's algorithm against the peer's delayed ACK a record
 * smaller than loopback's 64 KiB MSS can wait 40 ms, which made the baseline stall for seconds.
 */
final class Bulk {
    static final int CHUNK = 64 * 1024;

    /** Median throughput (MiB/s) and median process CPU seconds per GiB moved. */
    record Result(double mibPerSecond, double cpuSecondsPerGib) {
        static final Result FAILED = new Result(Double.NaN, Double.NaN);
    }

    private Bulk() {}

    static Result run(Endpoints.Factory factory, long bytes, int reps, long deadlineNanos) throws IOException {
        try (Endpoints.Connection c = factory.connect(true)) {
            double[] rates = new double[reps];
            double[] cpu = new double[reps];
            transfer(c, bytes, deadlineNanos); // warm-up
            for (int i = 0; i < reps; i++) {
                long cpu0 = Stats.processCpuNanos();
                long t = transfer(c, bytes, deadlineNanos);
                long cpuUsed = Stats.processCpuNanos() - cpu0;
                rates[i] = bytes / (1024.0 * 1024.0) / (t / 1e9);
                cpu[i] = cpuUsed / 1e9 * ((double) (1L << 30) / bytes);
            }
            return new Result(Stats.median(rates), Stats.median(cpu));
        }
    }

    /** One transfer; returns its duration in nanoseconds. */
    static long transfer(Endpoints.Connection c, long bytes, long deadlineNanos) throws IOException {
        InputStream in = c.serverIn();
        CompletableFuture<Long> sink = CompletableFuture.supplyAsync(() -> {
            byte[] b = new byte[CHUNK];
            long got = 0;
            try {
                while (got < bytes) {
                    int n = in.read(b, 0, (int) Math.min(b.length, bytes - got));
                    if (n < 0) {
                        throw new IOException("end of stream after " + got + " of " + bytes + " bytes");
                    }
                    got += n;
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return System.nanoTime();
        });
        OutputStream out = c.clientOut();
        byte[] data = new byte[CHUNK];
        long start = System.nanoTime();
        for (long sent = 0; sent < bytes; ) {
            if (System.nanoTime() > deadlineNanos) {
                throw new IOException("bulk transfer over its time budget");
            }
            int n = (int) Math.min(data.length, bytes - sent);
            out.write(data, 0, n);
            sent += n;
        }
        out.flush();
        try {
            long left = Math.max(1, deadlineNanos - System.nanoTime());
            return sink.get(left, TimeUnit.NANOSECONDS) - start;
        } catch (Exception e) {
            sink.cancel(true);
            throw new IOException("bulk transfer did not complete: " + e, e);
        }
    }

    /**
     * Bytes moved in a fixed time (for the sweeps, where a lossy link may be slow): the client
     * writes for {@code seconds}, the figure is what the server read divided by the time.
     */
    static double forSeconds(Endpoints.Connection c, double seconds) throws IOException {
        InputStream in = c.serverIn();
        long[] got = {0};
        long stopAt = System.nanoTime() + (long) (seconds * 1e9);
        Thread reader = new Thread(() -> {
            byte[] b = new byte[CHUNK];
            try {
                while (true) {
                    int n = in.read(b);
                    if (n < 0) {
                        return;
                    }
                    synchronized (got) {
                        got[0] += n;
                    }
                }
            } catch (IOException e) {
                // the connection is closed when time is up
            }
        }, "bench-sink");
        reader.setDaemon(true);
        reader.start();
        OutputStream out = c.clientOut();
        byte[] data = new byte[CHUNK];
        long start = System.nanoTime();
        Thread writer = new Thread(() -> {
            try {
                while (System.nanoTime() < stopAt) {
                    out.write(data);
                }
            } catch (IOException e) {
                // closed under us at the end
            }
        }, "bench-source");
        writer.setDaemon(true);
        writer.start();
        try {
            TimeUnit.NANOSECONDS.sleep(Math.max(0, stopAt - System.nanoTime()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long moved;
        synchronized (got) {
            moved = got[0];
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        c.close();
        return moved / (1024.0 * 1024.0) / elapsed;
    }
}
