package io.opsec.stack.conform;

/**
 * The outcome of one script.
 *
 * @param name    the script's name
 * @param status  how it ended
 * @param message for a failure, what differed (expected against actual), else empty
 * @param reason  the script's known-failure reason, or {@code null}
 */
public record ScriptResult(String name, Status status, String message, String reason) {
    public enum Status {
        /** Every event happened as written. */
        PASSED,
        /** An event did not happen as written, or the script could not be read or run. */
        FAILED,
        /** Failed, and the script says the stack is known to fail it: reported apart, not a CI failure. */
        KNOWN_FAILURE,
        /** Marked as a known failure, yet it passed: the stack was fixed; remove the status line. */
        UNEXPECTED_PASS
    }

    @Override
    public String toString() {
        return switch (status) {
            case PASSED -> "PASS  " + name;
            case FAILED -> "FAIL  " + name + "\n" + message.indent(6).stripTrailing();
            case KNOWN_FAILURE -> "KNOWN " + name + " (" + reason + ")\n" + message.indent(6).stripTrailing();
            case UNEXPECTED_PASS -> "FIXED " + name + ": passes although marked known-failure (" + reason + ")";
        };
    }
}
