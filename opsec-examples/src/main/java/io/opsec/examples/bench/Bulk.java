package io.opsec.examples.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Bulk transfer over one connection: the client writes {@code bytes} in 64 KiB writes, the
 * server reads and discards them, and one transfer is timed from the first write to the last
 * byte read. The figure is the median of the measured transfers; process CPU time is taken over
 * each of them (nothing else runs meanwhile but the other transports' idle threads).
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

    /**
     * Measures several transports side by side: a connection on each, a warm-up transfer on
     * each, then {@code reps} rounds in which each connection does one transfer in turn. So the
     * JIT has compiled the shared code (the JDK's AES-GCM among it) before any timed transfer,
     * and a burst of load from elsewhere on the machine falls on every transport alike.
     *
     * @return one result per factory, in order; {@link Result#FAILED} for a transport that failed
     */
    static Result[] compare(List<Endpoints.Factory> factories, long bytes, int reps, long deadlineNanos,
                            java.io.PrintWriter progress) {
        int k = factories.size();
        Endpoints.Connection[] conns = new Endpoints.Connection[k];
        double[][] rates = new double[k][reps];
        double[][] cpu = new double[k][reps];
        boolean[] failed = new boolean[k];
        try {
            for (int i = 0; i < k; i++) {
                try {
                    conns[i] = factories.get(i).connect(true);
                    transfer(conns[i], bytes, deadlineNanos); // warm-up
                } catch (IOException | RuntimeException e) {
                    fail(progress, i, e, failed);
                }
            }
            for (int r = 0; r < reps; r++) {
                for (int i = 0; i < k; i++) {
                    if (failed[i]) {
                        continue;
                    }
                    try {
                        long cpu0 = Stats.processCpuNanos();
                        long t = transfer(conns[i], bytes, deadlineNanos);
                        long cpuUsed = Stats.processCpuNanos() - cpu0;
                        rates[i][r] = bytes / (1024.0 * 1024.0) / (t / 1e9);
                        cpu[i][r] = cpuUsed / 1e9 * ((double) (1L << 30) / bytes);
                    } catch (IOException | RuntimeException e) {
                        fail(progress, i, e, failed);
                    }
                }
            }
        } finally {
            for (Endpoints.Connection c : conns) {
                Endpoints.quietly(c);
            }
        }
        Result[] out = new Result[k];
        for (int i = 0; i < k; i++) {
            out[i] = failed[i] ? Result.FAILED : new Result(Stats.median(rates[i]), Stats.median(cpu[i]));
        }
        return out;
    }

    private static void fail(java.io.PrintWriter progress, int which, Exception e, boolean[] failed) {
        failed[which] = true;
        progress.println("# transport " + which + " failed: " + e.getMessage());
        progress.flush();
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
