package io.opsec.stack.sim;

/**
 * An application in a {@link SimNet}: stepped on the simulator's thread after every network step,
 * at the current virtual time, until it reports that it is finished. It uses the non-blocking
 * {@link io.opsec.stack.OpsecConnection} API and must never block or read a real clock.
 */
public interface SimApp {
    /** Does whatever can be done now (read, write, close...). */
    void step(SimNet net);

    /** When this application next needs a step even if the network is quiet; MAX_VALUE for never. */
    default long wakeAt() {
        return Long.MAX_VALUE;
    }

    /** Whether it needs no more steps. */
    boolean isFinished();
}
