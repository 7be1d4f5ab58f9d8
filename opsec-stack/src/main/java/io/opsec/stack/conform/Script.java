package io.opsec.stack.conform;

import java.util.List;
import java.util.Map;

/**
 * A parsed conformance script in packetdrill's format (see {@code docs/conformance.md} for the
 * subset): its header options ({@code --name=value} lines), an optional known-failure reason
 * ({@code # status: known-failure why}) and its events in order.
 *
 * @param name         where it came from, for reports
 * @param options      header options by name, without the leading dashes
 * @param knownFailure why the stack is known to fail this script, or {@code null}
 * @param events       the timed events
 */
public record Script(String name, Map<String, String> options, String knownFailure, List<ScriptEvent> events) {
    public Script {
        options = Map.copyOf(options);
        events = List.copyOf(events);
    }
}
