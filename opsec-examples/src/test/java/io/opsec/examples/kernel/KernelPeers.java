package io.opsec.examples.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kernel TCP peers run inside a lab namespace: {@code kernel/peer.py} (plain Python sockets, so
 * Linux does all of the TCP), one JSON line of byte counts and SHA-256 per connection.
 */
final class KernelPeers {
    private KernelPeers() {}

    /** What a peer reports for one connection. */
    record Conn(String role, int conn, String peer, long txBytes, String txSha256, long rxBytes, String rxSha256,
                double secs, String error) {

        /** Goodput of what this end received, in MiB/s. */
        double rxMibPerSecond() {
            return secs <= 0 ? 0 : rxBytes / secs / (1 << 20);
        }
    }

    /** What a peer process does. */
    record Plan(int count, long send, long resetAfter, boolean afterEof, Duration timeout) {
        static Plan send(long bytes) {
            return new Plan(1, bytes, -1, false, Duration.ofSeconds(120));
        }

        static Plan receive() {
            return new Plan(1, 0, -1, false, Duration.ofSeconds(120));
        }

        Plan connections(int n) {
            return new Plan(n, send, resetAfter, afterEof, timeout);
        }

        /** Abort with RST (SO_LINGER 0) once this many bytes are sent. */
        Plan resetAfter(long bytes) {
            return new Plan(count, send, bytes, afterEof, timeout);
        }

        /** Send only after reading the other end's FIN: the other end half-closes first. */
        Plan sendAfterPeerEof() {
            return new Plan(count, send, resetAfter, true, timeout);
        }

        Plan timeout(Duration t) {
            return new Plan(count, send, resetAfter, afterEof, t);
        }

        List<String> args() {
            List<String> a = new ArrayList<>(List.of("--count", Integer.toString(count), "--send", Long.toString(send),
                    "--reset-after", Long.toString(resetAfter), "--timeout", Long.toString(timeout.toSeconds())));
            if (afterEof) {
                a.add("--after-eof");
            }
            return a;
        }
    }

    private static Path script(KernelLab lab) {
        Path p = lab.dir().resolve("peer.py");
        if (!Files.exists(p)) {
            try (InputStream in = KernelPeers.class.getResourceAsStream("/kernel/peer.py")) {
                if (in == null) {
                    throw new IllegalStateException("test resource kernel/peer.py is missing");
                }
                Files.copy(in, p, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    /** Starts a server in {@code ns} on {@code address:port} and waits until it listens. */
    static Proc serve(KernelLab lab, KernelLab.Namespace ns, String address, int port, Plan plan) {
        List<String> cmd = new ArrayList<>(ns.exec("python3", script(lab).toString(), "serve", "--bind", address,
                "--port", Integer.toString(port)));
        cmd.addAll(plan.args());
        Proc p = lab.spawn("peer-serve-" + port, cmd);
        p.awaitStdout(l -> l.startsWith("ready "), Duration.ofSeconds(15));
        return p;
    }

    /** Starts a client in {@code ns} toward {@code address:port}. */
    static Proc client(KernelLab lab, KernelLab.Namespace ns, String address, int port, Plan plan) {
        List<String> cmd = new ArrayList<>(ns.exec("python3", script(lab).toString(), "client", "--connect", address,
                "--port", Integer.toString(port)));
        cmd.addAll(plan.args());
        return lab.spawn("peer-client-" + port, cmd);
    }

    /**
     * Waits for a peer to finish and parses its per-connection lines; fails, saying so, when it
     * printed none.
     */
    static List<Conn> results(Proc p, Duration timeout) {
        List<Conn> out = new ArrayList<>();
        for (String line : p.waitForSuccess(timeout)) {
            if (line.startsWith("{")) {
                out.add(parse(line));
            }
        }
        if (out.isEmpty()) {
            // Without this the caller's get(0) fails with a bare IndexOutOfBoundsException.
            throw new AssertionError("kernel peer ended without a connection result (its own --timeout, or"
                    + " no connection came); stdout: " + p.stdout() + "; " + p.describe());
        }
        return out;
    }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|null|[-0-9.eE]+)");

    /** Parses one flat JSON object as peer.py prints it. */
    static Conn parse(String json) {
        java.util.Map<String, String> f = new java.util.HashMap<>();
        Matcher m = FIELD.matcher(json);
        while (m.find()) {
            String v = m.group(3) != null ? m.group(3) : m.group(2);
            f.put(m.group(1), "null".equals(v) && m.group(3) == null ? null : v);
        }
        return new Conn(f.get("role"), Integer.parseInt(f.getOrDefault("conn", "-1")), f.get("peer"),
                Long.parseLong(f.getOrDefault("tx_bytes", "0")), f.get("tx_sha256"),
                Long.parseLong(f.getOrDefault("rx_bytes", "0")), f.get("rx_sha256"),
                Double.parseDouble(f.getOrDefault("secs", "0")), f.get("error"));
    }
}
