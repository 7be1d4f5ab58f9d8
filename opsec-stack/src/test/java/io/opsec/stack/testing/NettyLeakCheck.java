package io.opsec.stack.testing;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns Netty's leak detector from a logger into something a test can fail on.
 *
 * <p>{@link #install()} puts a {@link ResourceLeakDetectorFactory} in place whose detectors
 * record every leak report instead of only logging it, and forces the detection level to
 * PARANOID. {@link #collect()} then forces a garbage collection, drains every detector's
 * reference queue and returns (and forgets) what was recorded since the last call.
 *
 * <p>Netty reports a leaked object only when its detector tracks a <em>new</em> object after the
 * leaked one was collected. To know when that has happened, each {@code collect()} deliberately
 * leaks one tiny <em>canary</em> buffer with a unique hint and loops (bounded) through
 * {@code System.gc()} plus a drain until the canary itself is reported; the canary is filtered
 * out of the result. Netty also de-duplicates reports with identical stack traces for the life
 * of a detector; the detectors here attach a unique initial hint to every tracked object so that
 * two leaks from the same line in two tests are both reported.
 *
 * <p>A full {@code System.gc()} costs about 10-15 ms here, too much to pay after every test, so
 * {@code collect()} first asks the detectors how many tracked objects are still open (neither
 * released nor yet reported); when none are, no leak is possible and it returns at once. Only a
 * test that leaked, or that leaves buffers alive past its end, pays for the collection.
 *
 * <p>Netty tracks only buffers that come from a pooled allocator or are direct; an
 * {@code Unpooled.buffer()} (unpooled heap) is never tracked, so a leak of one is invisible here.
 * Code whose ownership should be checked in tests should allocate through
 * {@code ByteBufAllocator.DEFAULT} (pooled by default).
 *
 * <p>Used through {@link LeakCheckExtension} (JUnit Jupiter, auto-registered) and
 * {@link LeakCheckHook} (jqwik properties, auto-registered); tests rarely call it directly.
 */
public final class NettyLeakCheck {

    private static final Logger LOG = LoggerFactory.getLogger(NettyLeakCheck.class);

    /** Marker in the canary's hint; a report containing it is the canary, not a real leak. */
    private static final String CANARY_MARK = "opsec-leak-check-canary#";

    /** Bound on the gc/drain loop: a canary that never shows up must not hang the suite. */
    private static final long MAX_WAIT_NANOS = 2_000_000_000L;

    private static final ConcurrentLinkedQueue<Leak> RECORDED = new ConcurrentLinkedQueue<>();
    private static final List<RecordingDetector<?>> DETECTORS = new CopyOnWriteArrayList<>();
    private static final AtomicLong TRACKED = new AtomicLong();
    private static final AtomicLong CANARIES = new AtomicLong();

    /** {@code ResourceLeakDetector.allLeaks}: the open trackers of a detector. */
    private static final Field ALL_LEAKS = allLeaksField();

    private static volatile boolean installed;
    /** True when AbstractByteBuf was initialised before us and only the listener fallback works. */
    private static volatile boolean listenerFallback;

    private NettyLeakCheck() {
    }

    /** One leak report: the resource type and Netty's access records (creation trace, touches). */
    public record Leak(String resourceType, String records) {
        @Override
        public String toString() {
            return "LEAK of " + resourceType + (records.isEmpty() ? " (no records)" : ":" + records);
        }
    }

    /**
     * Installs the recording factory and sets the level to PARANOID. Idempotent and thread-safe.
     * Must run before {@code io.netty.buffer.AbstractByteBuf} is initialised (the extension's
     * class initialiser does that); if it is too late, a leak listener on the existing ByteBuf
     * detector is used instead, which still records leaks but may miss repeated identical ones.
     */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        ResourceLeakDetector<ByteBuf> byteBufDetector = byteBufDetector();
        if (!(byteBufDetector instanceof RecordingDetector)) {
            listenerFallback = true;
            byteBufDetector.setLeakListener((type, records) -> RECORDED.add(new Leak(type, records)));
            LOG.warn("AbstractByteBuf was initialised before the leak check was installed; "
                    + "falling back to a leak listener (identical repeated leaks may be reported once)");
        }
        installed = true;
    }

    /** Whether {@link #install()} has run. */
    public static boolean isInstalled() {
        return installed;
    }

    /**
     * Forces detection and returns every leak recorded since the previous call, forgetting them.
     * Bounded: gives up waiting for the canary after about two seconds (and logs it).
     */
    public static synchronized List<Leak> collect() {
        install();
        if (RECORDED.isEmpty() && liveTracked() == 0) {
            // Every tracked object was released (closed): nothing can have leaked, skip the GC.
            return List.of();
        }
        String canary = CANARY_MARK + CANARIES.incrementAndGet();
        leakCanary(canary);
        long deadline = System.nanoTime() + MAX_WAIT_NANOS;
        boolean seen = false;
        for (int round = 0; !seen; round++) {
            System.gc();
            drainAll();
            seen = RECORDED.stream().anyMatch(l -> l.records().contains(canary));
            if (!seen) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.warn("leak check: canary {} not reported after {} rounds; results may be incomplete",
                            canary, round + 1);
                    break;
                }
                // The reference handler enqueues asynchronously after the GC; give it the CPU.
                Thread.yield();
            }
        }
        List<Leak> leaks = new ArrayList<>();
        for (Leak l; (l = RECORDED.poll()) != null; ) {
            if (!l.records().contains(CANARY_MARK)) {
                leaks.add(l);
            }
        }
        return leaks;
    }

    /** Number of objects the recording detectors have tracked (a cheap liveness probe for tests). */
    static long trackedCount() {
        return TRACKED.get();
    }

    /**
     * Tracked objects neither closed nor reported yet, over all detectors; {@code -1} if Netty's
     * internals cannot be read (then {@link #collect()} always collects).
     */
    static int liveTracked() {
        if (ALL_LEAKS == null || listenerFallback) {
            return -1;
        }
        int n = 0;
        try {
            for (RecordingDetector<?> d : DETECTORS) {
                n += ((java.util.Set<?>) ALL_LEAKS.get(d)).size();
            }
        } catch (IllegalAccessException e) {
            return -1;
        }
        return n;
    }

    static boolean usesListenerFallback() {
        return listenerFallback;
    }

    private static void leakCanary(String hint) {
        // Direct, because Netty does not track unpooled heap buffers at all.
        ByteBuf canary = Unpooled.directBuffer(1);
        canary.touch(hint);
        // Deliberately not released: its report tells collect() that the queue has been drained.
    }

    /** Makes every detector poll its reference queue, which is when Netty reports leaks. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void drainAll() {
        if (listenerFallback) {
            ByteBuf probe = Unpooled.directBuffer(1);
            probe.release();
        }
        for (RecordingDetector d : DETECTORS) {
            Object probe = new Object();
            ResourceLeakTracker t = d.track(probe);
            if (t != null) {
                t.close(probe);
            }
        }
    }

    private static Field allLeaksField() {
        try {
            Field f = ResourceLeakDetector.class.getDeclaredField("allLeaks");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.warn("cannot read ResourceLeakDetector.allLeaks; every leak check will run a GC", e);
            return null;
        }
    }

    @SuppressWarnings("unchecked")
    private static ResourceLeakDetector<ByteBuf> byteBufDetector() {
        try {
            Field f = AbstractByteBuf.class.getDeclaredField("leakDetector");
            f.setAccessible(true);
            return (ResourceLeakDetector<ByteBuf>) f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot find Netty's ByteBuf leak detector", e);
        }
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            RecordingDetector<T> d = new RecordingDetector<>(resource, samplingInterval);
            DETECTORS.add(d);
            return d;
        }

        /** Netty still declares this abstract; {@code maxActive} has been ignored since 4.1. */
        @Override
        @SuppressWarnings("deprecation")
        @Deprecated
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(
                Class<T> resource, int samplingInterval, long maxActive) {
            return newResourceLeakDetector(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<T> resource, int samplingInterval) {
            super(resource, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true; // report even when Netty's own logger is quiet
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            RECORDED.add(new Leak(resourceType, records));
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            RECORDED.add(new Leak(resourceType, ""));
        }

        @Override
        protected Object getInitialHint(String resourceType) {
            // A unique hint defeats Netty's per-detector de-duplication of identical reports.
            return new TrackId(TRACKED.incrementAndGet());
        }
    }

    private record TrackId(long id) {
        @Override
        public String toString() {
            return "leak-check tracking id " + id;
        }
    }
}
