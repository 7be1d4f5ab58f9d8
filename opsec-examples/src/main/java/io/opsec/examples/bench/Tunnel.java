package io.opsec.examples.bench;

import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.UdpTunnelLink;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Bulk transfer between two processes: this one and a child JVM running {@link #main}, a sink
 * that reads each transfer of {@code bytes} and answers one byte. Either kernel TCP on
 * 127.0.0.1, or an opsec-stack in each process joined by a {@link UdpTunnelLink} (MTU 1500) on
 * 127.0.0.1. A transfer is timed from the first write to the sink's answer; median of
 * {@code reps} after a warm-up.
 */
public final class Tunnel {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private Tunnel() {}

    /** Throughput in MiB/s, kernel TCP between two processes. */
    static double kernel(long bytes, int reps, long deadlineNanos) throws IOException {
        try (Child child = Child.start(bytes, "kernel", "0", "0")) {
            int port = Integer.parseInt(child.ready());
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(LOOPBACK, port), Endpoints.TIMEOUT_MS);
                s.setSoTimeout(Endpoints.TIMEOUT_MS);
                return transfers(s.getInputStream(), s.getOutputStream(), bytes, reps, deadlineNanos);
            }
        }
    }

    /** Throughput in MiB/s, opsec-stack over a UDP tunnel between two processes. */
    static double tunnel(int mtu, long bytes, int reps, long deadlineNanos) throws IOException {
        int mine = freeUdpPort();
        int theirs = freeUdpPort();
        try (Child child = Child.start(bytes, "tunnel", Integer.toString(theirs), Integer.toString(mine),
                Integer.toString(mtu))) {
            child.ready();
            UdpTunnelLink link = UdpTunnelLink.builder().local(new InetSocketAddress(LOOPBACK, mine))
                    .peer(new InetSocketAddress(LOOPBACK, theirs)).mtu(mtu).build();
            try (OpsecStack stack = Endpoints.stack(Endpoints.CLIENT, link, mtu, Endpoints.PLAIN);
                 Socket s = stack.socketFactory().createSocket()) {
                s.connect(new InetSocketAddress(Endpoints.SERVER, Endpoints.PORT), Endpoints.TIMEOUT_MS);
                s.setSoTimeout(Endpoints.TIMEOUT_MS);
                return transfers(s.getInputStream(), s.getOutputStream(), bytes, reps, deadlineNanos);
            }
        }
    }

    private static double transfers(InputStream in, OutputStream out, long bytes, int reps, long deadlineNanos)
            throws IOException {
        byte[] data = new byte[Bulk.CHUNK];
        double[] rates = new double[reps];
        for (int i = -1; i < reps; i++) {
            long start = System.nanoTime();
            for (long sent = 0; sent < bytes; ) {
                if (System.nanoTime() > deadlineNanos) {
                    throw new IOException("tunnel transfer over its time budget");
                }
                int n = (int) Math.min(data.length, bytes - sent);
                out.write(data, 0, n);
                sent += n;
            }
            out.flush();
            if (in.read() < 0) {
                throw new IOException("the sink process ended early");
            }
            if (i >= 0) {
                rates[i] = bytes / (1024.0 * 1024.0) / ((System.nanoTime() - start) / 1e9);
            }
        }
        return Stats.median(rates);
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket d = new DatagramSocket(0, LOOPBACK)) {
            return d.getLocalPort();
        }
    }

    /** The child JVM, same class path; killed on close if it has not ended. */
    private static final class Child implements AutoCloseable {
        private final Process process;
        private final BufferedReader stdout;

        private Child(Process process) {
            this.process = process;
            this.stdout = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(long transferBytes, String... args) throws IOException {
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add("-Xmx512m");
            cmd.add("-Dbench.transfer=" + transferBytes);
            cmd.add(Tunnel.class.getName());
            cmd.addAll(List.of(args));
            return new Child(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start());
        }

        /** Waits for the child's "ready ARG" line; returns ARG. */
        String ready() throws IOException {
            String line = stdout.readLine();
            if (line == null || !line.startsWith("ready ")) {
                throw new IOException("the sink process did not start: " + line);
            }
            return line.substring(6);
        }

        @Override
        public void close() {
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /**
     * The sink process: {@code kernel 0 0} listens on kernel TCP, {@code tunnel LOCAL PEER MTU}
     * runs a stack on a UDP tunnel. Prints "ready ..." then serves one connection: after each
     * transfer's worth of bytes ({@code -Dbench.transfer}) it answers one byte, until end of
     * stream or 5 minutes.
     */
    public static void main(String[] args) throws Exception {
        Thread watchdog = new Thread(() -> {
            try {
                TimeUnit.MINUTES.sleep(5);
            } catch (InterruptedException ignored) {
                return;
            }
            System.exit(3);
        });
        watchdog.setDaemon(true);
        watchdog.start();
        if (args[0].equals("kernel")) {
            try (ServerSocket ss = new ServerSocket(0, 1, LOOPBACK)) {
                System.out.println("ready " + ss.getLocalPort());
                System.out.flush();
                try (Socket s = ss.accept()) {
                    sink(s.getInputStream(), s.getOutputStream());
                }
            }
            return;
        }
        int local = Integer.parseInt(args[1]);
        int peer = Integer.parseInt(args[2]);
        int mtu = Integer.parseInt(args[3]);
        UdpTunnelLink link = UdpTunnelLink.builder().local(new InetSocketAddress(LOOPBACK, local))
                .peer(new InetSocketAddress(LOOPBACK, peer)).mtu(mtu).build();
        try (OpsecStack stack = Endpoints.stack(Endpoints.SERVER, link, mtu, Endpoints.PLAIN);
             ServerSocket ss = stack.serverSocketFactory().createServerSocket(Endpoints.PORT)) {
            System.out.println("ready " + local);
            System.out.flush();
            try (Socket s = ss.accept()) {
                sink(s.getInputStream(), s.getOutputStream());
            }
        }
    }

    /** Answers one byte for every {@code -Dbench.transfer} bytes read, until end of stream. */
    private static void sink(InputStream in, OutputStream out) throws IOException {
        long size = Long.getLong("bench.transfer");
        byte[] b = new byte[Bulk.CHUNK];
        long got = 0;
        while (true) {
            int n = in.read(b);
            if (n < 0) {
                return;
            }
            got += n;
            while (got >= size) {
                got -= size;
                out.write(1);
                out.flush();
            }
        }
    }
}
