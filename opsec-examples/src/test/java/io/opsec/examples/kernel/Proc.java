package io.opsec.examples.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child process started by the lab: its stdout and stderr are read by two daemon threads into
 * line lists (and copied to files beside the test's other artefacts), so a test can wait for a
 * "ready" line with a deadline instead of sleeping.
 *
 * <p>{@link #close()} ends the process (SIGTERM, then SIGKILL after a grace period) and is safe to
 * call twice.
 */
final class Proc implements AutoCloseable {
    private static final Duration GRACE = Duration.ofSeconds(3);

    private final String name;
    private final List<String> command;
    private final Process process;
    private final Output out;
    private final Output err;
    private final Writer in;

    private Proc(String name, List<String> command, Process process, Path dir, boolean input) {
        this.name = name;
        this.command = List.copyOf(command);
        this.process = process;
        this.in = input ? new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8) : null;
        this.out = new Output(name + ".out", process.getInputStream(), dir.resolve(name + ".out"));
        this.err = new Output(name + ".err", process.getErrorStream(), dir.resolve(name + ".err"));
    }

    /** Starts {@code command}, with its output kept under {@code dir}. */
    static Proc start(String name, List<String> command, Path dir) {
        return start(name, command, dir, false);
    }

    /** As {@link #start(String, List, Path)}, with standard input kept open for {@link #send}. */
    static Proc startWithInput(String name, List<String> command, Path dir) {
        return start(name, command, dir, true);
    }

    private static Proc start(String name, List<String> command, Path dir, boolean input) {
        try {
            Files.createDirectories(dir);
            ProcessBuilder pb = new ProcessBuilder(command);
            pb.redirectInput(ProcessBuilder.Redirect.PIPE);
            Process p = pb.start();
            if (!input) {
                p.getOutputStream().close();
            }
            return new Proc(name, command, p, dir, input);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command, e);
        }
    }

    /** Writes one line to the process's standard input (only for {@link #startWithInput}). */
    synchronized void send(String line) {
        try {
            in.write(line);
            in.write('\n');
            in.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(name + " no longer reads its input; " + describe(), e);
        }
    }

    /** How many stdout lines have been read so far: a starting point for {@link #awaitStdout(int, Predicate, Duration)}. */
    int stdoutLines() {
        synchronized (out) {
            return out.lines.size();
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until a stdout line matches; fails with the process's stderr if it exits first or the deadline passes. */
    String awaitStdout(Predicate<String> match, Duration timeout) {
        return lineAt(await(out, 0, match, timeout), out);
    }

    /**
     * Waits until a stdout line at or after index {@code from} matches, as {@link #awaitStdout};
     * returns the lines from {@code from} up to and including the matching one.
     */
    List<String> awaitStdout(int from, Predicate<String> match, Duration timeout) {
        int at = await(out, from, match, timeout);
        synchronized (out) {
            return List.copyOf(out.lines.subList(from, at + 1));
        }
    }

    /** As {@link #awaitStdout} on stderr. */
    String awaitStderr(Predicate<String> match, Duration timeout) {
        return lineAt(await(err, 0, match, timeout), err);
    }

    private static String lineAt(int index, Output o) {
        synchronized (o) {
            return o.lines.get(index);
        }
    }

    private int await(Output o, int from, Predicate<String> match, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = from;
        synchronized (o) {
            while (true) {
                for (; seen < o.lines.size(); seen++) {
                    if (match.test(o.lines.get(seen))) {
                        return seen;
                    }
                }
                long left = deadline - System.nanoTime();
                if (o.ended) {
                    throw new AssertionError(name + " ended its " + o.label + " without the expected line; exit "
                            + exitText() + "; " + describe());
                }
                if (left <= 0) {
                    throw new AssertionError(name + " did not print the expected line within " + timeout + "; "
                            + describe());
                }
                try {
                    o.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError("interrupted waiting for " + name, e);
                }
            }
        }
    }

    private String exitText() {
        return process.isAlive() ? "(running)" : Integer.toString(process.exitValue());
    }

    /**
     * Waits for the process to exit and for its output to be read to the end.
     *
     * @return the exit status
     */
    int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError(name + " still running after " + timeout + "; " + describe());
            }
            out.join(Duration.ofSeconds(5));
            err.join(Duration.ofSeconds(5));
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for " + name, e);
        }
    }

    /** Waits for a clean exit (status 0) and returns the stdout lines. */
    List<String> waitForSuccess(Duration timeout) {
        int rc = waitFor(timeout);
        if (rc != 0) {
            throw new AssertionError(name + " exited " + rc + "; " + describe());
        }
        return stdout();
    }

    List<String> stdout() {
        synchronized (out) {
            return List.copyOf(out.lines);
        }
    }

    List<String> stderr() {
        synchronized (err) {
            return List.copyOf(err.lines);
        }
    }

    /** The command and the last lines of stderr, for failure messages. */
    String describe() {
        List<String> e = stderr();
        List<String> tail = e.subList(Math.max(0, e.size() - 15), e.size());
        return "command " + command + "; stderr tail:\n  " + String.join("\n  ", tail);
    }

    /** SIGTERM, a grace period, then SIGKILL; waits for the process (and the reader threads) to end. */
    @Override
    public void close() {
        if (in != null) {
            try {
                in.close();
            } catch (IOException e) {
                // the process already went away
            }
        }
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(GRACE.toMillis(), TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        out.join(Duration.ofSeconds(2));
        err.join(Duration.ofSeconds(2));
    }

    /** One output stream: lines kept in memory and copied to a file. */
    private static final class Output {
        final String label;
        final List<String> lines = new ArrayList<>();
        final Thread reader;
        boolean ended;

        Output(String label, InputStream in, Path file) {
            this.label = label;
            reader = new Thread(() -> pump(in, file), "proc-" + label);
            reader.setDaemon(true);
            reader.start();
        }

        private void pump(InputStream in, Path file) {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
                 Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                String line;
                while ((line = r.readLine()) != null) {
                    w.write(line);
                    w.write('\n');
                    w.flush();
                    synchronized (this) {
                        lines.add(line);
                        notifyAll();
                    }
                }
            } catch (IOException e) {
                // The process went away; what was read is kept.
            } finally {
                synchronized (this) {
                    ended = true;
                    notifyAll();
                }
            }
        }

        void join(Duration timeout) {
            try {
                reader.join(timeout.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
