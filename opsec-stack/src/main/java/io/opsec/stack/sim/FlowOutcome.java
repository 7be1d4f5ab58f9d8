package io.opsec.stack.sim;

import java.io.IOException;

/**
 * What the two ends of one simulated connection ended up with.
 *
 * @param clientStatus the client's security status, as text
 * @param serverStatus the server's, or "never connected" when no application saw it
 * @param clientError  the error the client's application got, or null
 * @param serverError  the server's, or null
 * @param clientReceived bytes the client's application read
 * @param serverReceived bytes the server's application read
 */
public record FlowOutcome(int id, String clientStatus, String serverStatus, IOException clientError,
                          IOException serverError, long clientReceived, long serverReceived) {
}
