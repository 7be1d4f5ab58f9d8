package io.opsec.stack.opsec;

import java.util.Collections;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * An opportunistic security protocol that OPSEC can negotiate (draft-paddon-tcp-opsec §4): it
 * has a one-octet protocol identifier, carried in the OPSEC option, and makes one
 * {@link SecuritySession} per connection that agreed on it.
 *
 * <p>Implementations are found with {@link ServiceLoader} (see {@link #installed(ClassLoader)}):
 * a module registers its class in {@code META-INF/services/io.opsec.stack.opsec.SecurityProtocol}
 * and gives it a public no-argument constructor that yields the protocol with its defaults
 * (for TLS: anonymous, no configuration). A protocol that needs key material or trust
 * configuration is configured when it is constructed (for example
 * {@code TlsSecurityProtocol.builder()...build()}) and handed to the stack explicitly; the
 * per-connection facts travel in the {@link SecurityContext}.
 *
 * <p>Implementations are immutable and safe to share between threads; the sessions they make
 * are not (see {@link SecuritySession}).
 */
public interface SecurityProtocol {

    /**
     * The OPSEC protocol identifier, 0..255 (draft-paddon-tcp-opsec §4: 0 = TLS).
     */
    int id();

    /** A short human name such as {@code "TLS"}, for status and logs. */
    String name();

    /**
     * Makes the security session of one connection. Nothing is sent or computed until
     * {@link SecuritySession#start()}.
     *
     * @param context the role this end plays and the connection's addresses
     */
    SecuritySession newSession(SecurityContext context);

    /**
     * The protocols registered with {@link ServiceLoader} on {@code loader}, by identifier. When
     * two registrations claim the same identifier the first one found wins and the rest are
     * ignored, so the result is deterministic for a given class path.
     *
     * @throws IllegalStateException if a registered protocol reports an identifier outside
     *         0..255
     */
    static Map<Integer, SecurityProtocol> installed(ClassLoader loader) {
        Map<Integer, SecurityProtocol> byId = new TreeMap<>();
        for (SecurityProtocol p : ServiceLoader.load(SecurityProtocol.class, loader)) {
            int id = p.id();
            if (id < 0 || id > 255) {
                throw new IllegalStateException(
                        "security protocol " + p.getClass().getName() + " has id " + id + ", not 0..255");
            }
            byId.putIfAbsent(id, p);
        }
        return Collections.unmodifiableMap(byId);
    }
}
