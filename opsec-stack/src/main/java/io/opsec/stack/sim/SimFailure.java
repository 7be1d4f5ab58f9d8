package io.opsec.stack.sim;

/** A broken invariant or a stuck run, found by the simulator. */
public final class SimFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SimFailure(String message) {
        super(message);
    }

    public SimFailure(String message, Throwable cause) {
        super(message, cause);
    }
}
