package io.opsec.stack.opsec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Destinations whose path dropped SYNs carrying OPSEC, remembered for a while so that new
 * connections to them start without the option (as Linux remembers paths that break TCP Fast
 * Open). Bounded in size (least recently marked first out); time is an argument.
 */
public final class OpsecPathCache {
    /** How long a path stays marked by default. */
    public static final long DEFAULT_TTL_NANOS = 10L * 60 * 1_000_000_000L;
    /** SYN timeouts with OPSEC after which the next SYN goes without it. */
    public static final int DEFAULT_TIMEOUTS_BEFORE_FALLBACK = 2;

    private final long ttlNanos;
    private final int capacity;
    private final LinkedHashMap<Integer, Long> expiry;

    public OpsecPathCache(long ttlNanos, int capacity) {
        if (ttlNanos <= 0 || capacity <= 0) {
            throw new IllegalArgumentException("ttl and capacity must be positive");
        }
        this.ttlNanos = ttlNanos;
        this.capacity = capacity;
        this.expiry = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Integer, Long> eldest) {
                return size() > OpsecPathCache.this.capacity;
            }
        };
    }

    /** A cache with the default lifetime and room for 1024 destinations. */
    public static OpsecPathCache defaults() {
        return new OpsecPathCache(DEFAULT_TTL_NANOS, 1024);
    }

    /** Marks a destination whose SYNs with OPSEC went unanswered. */
    public void markBroken(int remoteAddress, long now) {
        expiry.remove(remoteAddress);
        expiry.put(remoteAddress, now + ttlNanos);
    }

    /** Whether new connections to the destination should start without OPSEC. */
    public boolean isBroken(int remoteAddress, long now) {
        Long until = expiry.get(remoteAddress);
        if (until == null) {
            return false;
        }
        if (now - until >= 0) {
            expiry.remove(remoteAddress);
            return false;
        }
        return true;
    }

    /** Forgets a destination (a connection to it negotiated OPSEC after all). */
    public void forget(int remoteAddress) {
        expiry.remove(remoteAddress);
    }

    public int size() {
        return expiry.size();
    }
}
