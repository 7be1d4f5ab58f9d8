package io.opsec.stack.opsec;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which connections use OPSEC (draft §5, reading notes decision 11): a default mode and per-port
 * rules. A socket's own mode, when set, wins over the policy.
 *
 * <p>The default policy is {@link OpsecMode#OPPORTUNISTIC} everywhere except toward ports that
 * already speak TLS, where an extra layer is "pure overhead" (draft §5): 443, 465, 563, 636, 853,
 * 989, 990, 992, 993, 994, 995, 5061 and 8443 are OFF. For an active open the rule of the remote
 * port applies; for a listener, the rule of its local port.
 *
 * <p>Immutable; {@link #withPort} and {@link #withDefault} return changed copies.
 */
public final class OpsecPolicy {
    /** Ports that already run TLS, off by default. */
    public static final Set<Integer> TLS_PORTS = Set.copyOf(
            Arrays.asList(443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443));

    private final OpsecMode defaultMode;
    private final Map<Integer, OpsecMode> ports;

    private OpsecPolicy(OpsecMode defaultMode, Map<Integer, OpsecMode> ports) {
        this.defaultMode = defaultMode;
        this.ports = Map.copyOf(ports);
    }

    /** The default policy described above. */
    public static OpsecPolicy defaults() {
        Map<Integer, OpsecMode> m = new HashMap<>();
        for (int p : TLS_PORTS) {
            m.put(p, OpsecMode.OFF);
        }
        return new OpsecPolicy(OpsecMode.OPPORTUNISTIC, m);
    }

    /** The same mode for every port. */
    public static OpsecPolicy everywhere(OpsecMode mode) {
        return new OpsecPolicy(mode, Map.of());
    }

    /** A copy with a rule for one port. */
    public OpsecPolicy withPort(int port, OpsecMode mode) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " out of 1..65535");
        }
        Map<Integer, OpsecMode> m = new HashMap<>(ports);
        m.put(port, mode);
        return new OpsecPolicy(defaultMode, m);
    }

    /** A copy with another mode for ports without a rule. */
    public OpsecPolicy withDefault(OpsecMode mode) {
        return new OpsecPolicy(mode, ports);
    }

    /** The mode for a port, or the default. */
    public OpsecMode modeFor(int port) {
        return ports.getOrDefault(port, defaultMode);
    }

    /**
     * The mode that applies to a socket: its own when set, else the port's rule.
     *
     * @param socketMode the socket's mode, or {@code null} when it has none
     */
    public OpsecMode resolve(OpsecMode socketMode, int port) {
        return socketMode != null ? socketMode : modeFor(port);
    }

    @Override
    public String toString() {
        return "OpsecPolicy[default " + defaultMode + ", ports " + new TreeSet<>(ports.keySet()) + "]";
    }
}
