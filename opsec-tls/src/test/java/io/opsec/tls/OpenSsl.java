package io.opsec.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An {@code openssl} command run as a child process for interop tests: stdin is ours to write,
 * stdout is collected by a reader thread, stderr goes to a file. Every wait is bounded;
 * {@link #close()} kills the process (and is meant for a try-with-resources or finally).
 */
final class OpenSsl implements AutoCloseable {

    private final Process process;
    private final Path stderr;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final Thread reader;
    private final List<String> command;

    /** Whether an {@code openssl} binary runs here, and its version line (or null). */
    static String version() {
        try {
            Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            return new String(out, StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    OpenSsl(List<String> args) throws IOException {
        this.command = new ArrayList<>();
        command.add("openssl");
        command.addAll(args);
        this.stderr = Files.createTempFile("openssl-", ".err");
        this.process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        InputStream in = process.getInputStream();
        this.reader = new Thread(() -> {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (stdout) {
                        stdout.write(buf, 0, n);
                        stdout.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // the process went away
            }
        }, "openssl-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /** Writes to the process's standard input. */
    void write(byte[] data) throws IOException {
        OutputStream out = process.getOutputStream();
        out.write(data);
        out.flush();
    }

    /** Closes the process's standard input. */
    void closeStdin() throws IOException {
        process.getOutputStream().close();
    }

    /** A copy of everything the process wrote to stdout so far. */
    byte[] stdout() {
        synchronized (stdout) {
            return stdout.toByteArray();
        }
    }

    String stdoutText() {
        return new String(stdout(), StandardCharsets.ISO_8859_1);
    }

    String stderrText() {
        try {
            return Files.readString(stderr, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            return "(stderr unreadable: " + e + ")";
        }
    }

    /** Waits until stdout holds at least {@code n} bytes; false on timeout. */
    boolean awaitStdoutBytes(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stdout) {
            while (stdout.size() < n) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                stdout.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** Waits until stdout contains {@code text}; false on timeout. */
    boolean awaitStdoutText(String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stdout) {
            while (!new String(stdout.toByteArray(), StandardCharsets.ISO_8859_1).contains(text)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                stdout.wait(Math.max(1, left / 1_000_000));
            }
            return true;
        }
    }

    /** Waits for the process to exit; true if it did within the timeout. */
    boolean awaitExit(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A description for assertion messages. */
    String describe() {
        return String.join(" ", command) + "\n--- stderr:\n" + stderrText();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(2, TimeUnit.SECONDS);
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Files.deleteIfExists(stderr);
        } catch (IOException ignored) {
            // a temp file left behind is harmless
        }
    }
}
