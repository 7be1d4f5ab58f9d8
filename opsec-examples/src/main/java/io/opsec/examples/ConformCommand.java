package io.opsec.examples;

import io.netty.buffer.UnpooledByteBufAllocator;
import io.opsec.stack.conform.Conformance;
import io.opsec.stack.conform.ScriptResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code opsec conform PATH...}: runs packetdrill-format scripts (files, or folders searched for
 * {@code *.pkt}) against the stack on virtual time and ends with {@code N passed, M failed}.
 * Known failures are listed apart and do not fail the run. Exit status 0 when nothing failed, 1
 * otherwise, 2 for bad arguments (a path that does not exist).
 */
@Command(name = "conform", mixinStandardHelpOptions = true,
        description = {"Run packetdrill-format conformance scripts against the stack on virtual time.",
                "See docs/conformance.md for the supported subset."})
final class ConformCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "Script files or folders of *.pkt files.")
    List<Path> paths;

    @Option(names = {"-v", "--verbose"}, description = "Also list the scripts that pass.")
    boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<Path> files;
        try {
            files = Conformance.find(paths);
        } catch (IOException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (files.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "no *.pkt scripts under " + paths);
        }
        List<ScriptResult> results = new ArrayList<>();
        List<ScriptResult> known = new ArrayList<>();
        for (Path f : files) {
            ScriptResult r = Conformance.runFile(f, UnpooledByteBufAllocator.DEFAULT);
            results.add(r);
            switch (r.status()) {
                case PASSED -> {
                    if (verbose) {
                        out.println(r);
                    }
                }
                case KNOWN_FAILURE -> known.add(r);
                default -> out.println(r);
            }
        }
        if (!known.isEmpty()) {
            out.println("Known failures (not counted as failed):");
            for (ScriptResult r : known) {
                out.println("KNOWN " + r.name() + ": " + r.reason());
            }
        }
        Conformance.Summary s = Conformance.Summary.of(results);
        out.println(s);
        out.flush();
        return s.failed() == 0 ? 0 : Main.EXIT_FAILURE;
    }
}
