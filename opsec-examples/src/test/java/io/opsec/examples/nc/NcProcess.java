package io.opsec.examples.nc;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One {@code opsec nc} child process, run from the test class path ({@code java -cp
 * <java.class.path> io.opsec.examples.Main nc ...}), which works under surefire: its class path is
 * a manifest-only jar naming every entry. stdout is collected in memory (binary), stderr as lines;
 * every wait has a deadline. {@link #close()} kills the process if it is still running.
 */
final class NcProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final List<String> stderr = new ArrayList<>();
    private final Thread outReader;
    private final Thread errReader;
    private final java.util.concurrent.CountDownLatch stdoutReleased;

    private NcProcess(String name, Process process, boolean holdStdout) {
        this.name = name;
        this.process = process;
        this.stdoutReleased = new java.util.concurrent.CountDownLatch(holdStdout ? 1 : 0);
        this.outReader = daemon(name + "-stdout", () -> copy(process.getInputStream()));
        this.errReader = daemon(name + "-stderr", () -> lines(process.getErrorStream()));
    }

    /** Starts {@code opsec nc args...} with stdin from {@code stdin} (a file, or PIPE for {@link #stdin()}). */
    static NcProcess start(String name, ProcessBuilder.Redirect stdin, List<String> args) {
        return start(name, stdin, args, false);
    }

    /**
     * As {@link #start(String, ProcessBuilder.Redirect, List)}; with {@code holdStdout} nothing
     * is read from the process's stdout until {@link #releaseStdout()}, so once the pipe is full
     * the process stops reading its connection, as a slow consumer would.
     */
    static NcProcess start(String name, ProcessBuilder.Redirect stdin, List<String> args, boolean holdStdout) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx256m",
                "-cp", System.getProperty("java.class.path"),
                "io.opsec.examples.Main", "nc"));
        command.addAll(args);
        try {
            Process p = new ProcessBuilder(command).redirectInput(stdin).start();
            return new NcProcess(name, p, holdStdout);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** The process's stdin, when started with PIPE. */
    OutputStream stdin() {
        return process.getOutputStream();
    }

    /** Waits for a stderr line that matches, and returns it. */
    String awaitStderr(Predicate<String> match, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stderr) {
            while (true) {
                for (String line : stderr) {
                    if (match.test(line)) {
                        return line;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || (!process.isAlive() && !errReader.isAlive())) {
                    fail(name + ": no matching stderr line within " + timeout + (process.isAlive() ? "" : " (exited)")
                            + "; stderr: " + stderr);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(stderr, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted");
                }
            }
        }
    }

    /** Waits until stdout holds at least {@code bytes} bytes, and returns them all. */
    byte[] awaitStdout(int bytes, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (stdout) {
            while (stdout.size() < bytes) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || !outReader.isAlive()) {
                    fail(name + ": " + stdout.size() + " of " + bytes + " bytes on stdout within " + timeout
                            + "; stderr: " + stderrLines());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(stdout, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    fail("interrupted");
                }
            }
            return stdout.toByteArray();
        }
    }

    /** Waits for the exit and returns its status (the output readers finished too). */
    int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                fail(name + " still running after " + timeout + "; stderr: " + stderrLines());
            }
            outReader.join(5_000);
            errReader.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
        return process.exitValue();
    }

    /** Starts reading stdout (see {@code holdStdout}). */
    void releaseStdout() {
        stdoutReleased.countDown();
    }

    /** Whether the process exits within {@code timeout}. */
    boolean exitsWithin(Duration timeout) throws InterruptedException {
        return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Sends SIGKILL: the stack dies without a word to its peer. */
    void kill() {
        process.destroyForcibly();
    }

    /**
     * Sends SIGTERM: the JVM's shutdown hooks run. Through the process handle, because
     * {@code Process.destroy()} also closes the child's stdin, which nc would read as the end of
     * its input and answer with an orderly half-close, racing the signal.
     */
    void terminate() {
        process.toHandle().destroy();
    }

    byte[] stdout() {
        synchronized (stdout) {
            return stdout.toByteArray();
        }
    }

    String stdoutText() {
        return new String(stdout(), StandardCharsets.UTF_8);
    }

    List<String> stderrLines() {
        synchronized (stderr) {
            return List.copyOf(stderr);
        }
    }

    @Override
    public void close() {
        releaseStdout();
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return name + "[pid " + process.pid() + "]";
    }

    /** {@code n} UDP ports on 127.0.0.1 that were free a moment ago (all held at once, so distinct). */
    static int[] freeUdpPorts(int n) {
        List<DatagramSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            held.forEach(DatagramSocket::close);
        }
    }

    private void copy(InputStream in) {
        byte[] buf = new byte[64 * 1024];
        try (in) {
            stdoutReleased.await();
            int n;
            while ((n = in.read(buf)) >= 0) {
                synchronized (stdout) {
                    stdout.write(buf, 0, n);
                    stdout.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process is gone
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (stdout) {
                stdout.notifyAll();
            }
        }
    }

    private void lines(InputStream in) {
        try (var r = new java.io.BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (stderr) {
                    stderr.add(line);
                    stderr.notifyAll();
                }
            }
        } catch (IOException e) {
            // the process is gone
        } finally {
            synchronized (stderr) {
                stderr.notifyAll();
            }
        }
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
