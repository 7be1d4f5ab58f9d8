package io.opsec.stack.conform;

import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Finds scripts ({@code *.pkt} files, folders searched recursively in name order), runs them and
 * sums up. Used by {@code opsec conform} and by the build's conformance test.
 */
public final class Conformance {
    private Conformance() {}

    /** The {@code .pkt} files under each path (a file is taken as it is), sorted per folder. */
    public static List<Path> find(List<Path> paths) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.walk(p)) {
                    s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().endsWith(".pkt")).sorted()
                            .forEach(out::add);
                }
            } else if (Files.isRegularFile(p)) {
                out.add(p);
            } else {
                throw new IOException("no such file or folder: " + p);
            }
        }
        return out;
    }

    /** Reads, parses and runs one script file; a script that cannot be read or parsed fails. */
    public static ScriptResult runFile(Path file, ByteBufAllocator alloc) {
        String name = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return new ScriptResult(name, ScriptResult.Status.FAILED, "cannot read: " + e.getMessage(), null);
        }
        return runText(name, text, alloc);
    }

    /** Parses and runs a script given as text. */
    public static ScriptResult runText(String name, String text, ByteBufAllocator alloc) {
        Script script;
        try {
            script = ScriptParser.parse(name, text);
        } catch (ScriptParser.ScriptException e) {
            return new ScriptResult(name, ScriptResult.Status.FAILED, "does not parse: " + e.getMessage(), null);
        }
        return new ScriptRunner(alloc).run(script);
    }

    /** Counts of a set of results. */
    public record Summary(int passed, int failed, int knownFailures, int unexpectedPasses) {
        public static Summary of(List<ScriptResult> results) {
            int p = 0, f = 0, k = 0, u = 0;
            for (ScriptResult r : results) {
                switch (r.status()) {
                    case PASSED -> p++;
                    case FAILED -> f++;
                    case KNOWN_FAILURE -> k++;
                    case UNEXPECTED_PASS -> u++;
                }
            }
            return new Summary(p, f, k, u);
        }

        @Override
        public String toString() {
            return passed + " passed, " + failed + " failed" + (knownFailures > 0 ? " (" + knownFailures
                    + " known failure" + (knownFailures == 1 ? "" : "s") + " reported apart)" : "")
                    + (unexpectedPasses > 0 ? ", " + unexpectedPasses + " known failure(s) now pass" : "");
        }
    }

    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
