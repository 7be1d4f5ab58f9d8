package io.opsec.stack.opsec;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * The per-connection facts a {@link SecurityProtocol} needs to start a session: which end of the
 * security handshake this host plays and the two transport endpoints.
 *
 * <p>Configuration that does not change per connection (key material, trust anchors, a pinned
 * peer key, a key log) belongs to the protocol instance, not here.
 *
 * @param role   which end of the security handshake this host is; READING-NOTES decision 4:
 *               the active opener (the sender of the first SYN) is the {@link Role#CLIENT}
 * @param local  this end's address and port
 * @param remote the peer's address and port
 */
public record SecurityContext(Role role, InetSocketAddress local, InetSocketAddress remote) {

    /** Which end of the security handshake a host plays. */
    public enum Role {
        /** Speaks first (the TLS client); the active opener of the TCP connection. */
        CLIENT,
        /** Answers (the TLS server); the passive opener of the TCP connection. */
        SERVER
    }

    /** Checks that every component is present. */
    public SecurityContext {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(remote, "remote");
    }
}
