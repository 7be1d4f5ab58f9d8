package io.opsec.stack.testing;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails any JUnit Jupiter test during which Netty reports a leaked buffer.
 *
 * <p>Registered for every test by JUnit's extension autodetection
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension} in this module's test
 * resources and test-jar; the parent pom sets {@code junit.jupiter.extensions.autodetection.enabled}).
 * After each test it runs {@link NettyLeakCheck#collect()} and fails the test if anything leaked;
 * after each class it checks again, which catches buffers held in test-instance fields until the
 * instance went away. A leak report names the creation stack trace, so a leak noticed one test
 * late still points at its origin.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

    static {
        // As early as possible: the factory must be in place before AbstractByteBuf initialises.
        NettyLeakCheck.install();
    }

    private static final Set<Class<?>> ACTIVE = ConcurrentHashMap.newKeySet();

    /** Whether this extension has started for {@code testClass} (used to prove autodetection). */
    public static boolean isActiveFor(Class<?> testClass) {
        return ACTIVE.contains(testClass);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getTestClass().ifPresent(ACTIVE::add);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        verifyNoLeaks(context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        verifyNoLeaks(context.getDisplayName() + " (after all)");
    }

    /** Throws an {@link AssertionError} listing every leak reported since the last check. */
    static void verifyNoLeaks(String where) {
        List<NettyLeakCheck.Leak> leaks = NettyLeakCheck.collect();
        if (!leaks.isEmpty()) {
            throw new AssertionError(describe(where, leaks));
        }
    }

    static String describe(String where, List<NettyLeakCheck.Leak> leaks) {
        StringBuilder sb = new StringBuilder()
                .append(leaks.size()).append(" Netty leak(s) detected in ").append(where)
                .append(" (a buffer was garbage-collected without release()):");
        for (NettyLeakCheck.Leak leak : leaks) {
            sb.append(System.lineSeparator()).append(leak);
        }
        return sb.toString();
    }
}
