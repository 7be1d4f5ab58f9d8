package io.opsec.stack;

import io.opsec.stack.opsec.Negotiation;
import io.opsec.stack.opsec.OpsecPathCache;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpExtension;
import java.util.function.LongSupplier;

/**
 * The OPSEC negotiation as a {@link TcpExtension}, for callers that drive a
 * {@link io.opsec.stack.tcp.TcpEndpoint} themselves (the conformance runner, tests) rather than
 * through {@link OpsecStack}. The stack itself does not use this class.
 */
public final class OpsecExtensions {
    private OpsecExtensions() {}

    /**
     * The extension for an active open: proposes, checks the selection, echoes it, and after
     * {@link OpsecPathCache#DEFAULT_TIMEOUTS_BEFORE_FALLBACK} SYN timeouts retries without OPSEC.
     * Call {@link #bind} with the connection once {@code connect} returns it.
     */
    public static TcpExtension initiator(Negotiation negotiation, int remoteAddress, LongSupplier clock) {
        return new OpsecExtension(negotiation, OpsecPathCache.defaults(), remoteAddress, clock);
    }

    /** The extension for a connection made by a listener from a SYN: selects and checks the echo. */
    public static TcpExtension responder(Negotiation negotiation, LongSupplier clock) {
        return new OpsecExtension(negotiation, OpsecPathCache.defaults(), 0, clock);
    }

    /** Tells an extension made here which connection it serves (for the simultaneous-open tie-break). */
    public static void bind(TcpExtension extension, TcpConnection connection) {
        if (extension instanceof OpsecExtension o) {
            o.bind(connection);
        }
    }
}
