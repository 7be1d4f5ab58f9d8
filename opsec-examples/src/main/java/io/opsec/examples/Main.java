package io.opsec.examples;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code opsec} command: {@code demo}, {@code nc}, {@code simulate}, {@code conform} and
 * {@code bench}. Bad arguments give one line of error and a usage hint on stderr, and exit
 * status 2; a failure while running gives one line and exit status 1. Never a stack trace.
 */
@Command(name = "opsec", mixinStandardHelpOptions = true, version = "opsec-stack 0.1.0",
        description = "A userspace TCP/IP stack with the TCP OPSEC option and TLS 1.2 opportunistic security.",
        subcommands = {DemoCommand.class, NcCommand.class, SimulateCommand.class, ConformCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /** Exit status for bad arguments. */
    public static final int EXIT_USAGE = 2;
    /** Exit status for a failure while running. */
    public static final int EXIT_FAILURE = 1;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required (demo, nc, simulate)");
    }

    /** Runs the command line and returns the exit status (for tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            err.println("opsec: " + ex.getMessage());
            err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for usage.");
            err.flush();
            return EXIT_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            String msg = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
            err.println("opsec: " + msg);
            if (ex instanceof UsageError) {
                err.println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for usage.");
            }
            if (Boolean.getBoolean("opsec.debug")) {
                ex.printStackTrace(err);
            }
            err.flush();
            return ex instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
        });
        return cl.execute(args);
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        int status = run(args, out, err);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /** A bad argument found after parsing (a value out of range, an unknown host): exit status 2. */
    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }
}
