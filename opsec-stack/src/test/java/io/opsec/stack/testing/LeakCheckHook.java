package io.opsec.stack.testing;

import java.lang.reflect.AnnotatedElement;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * The jqwik counterpart of {@link LeakCheckExtension}: jqwik properties do not run Jupiter
 * extensions, so this hook, registered globally through
 * {@code META-INF/services/net.jqwik.api.lifecycle.LifecycleHook}, checks for Netty leaks after
 * every property (all its tries) and turns a successful result into a failure if one leaked.
 */
public final class LeakCheckHook implements AroundPropertyHook {

    static {
        NettyLeakCheck.install();
    }

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public boolean appliesTo(Optional<AnnotatedElement> element) {
        return true;
    }

    private static final ThreadLocal<Boolean> AROUND = ThreadLocal.withInitial(() -> false);

    /** Whether the calling thread is running a property under this hook (proves registration). */
    public static boolean isAroundCurrentProperty() {
        return AROUND.get();
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        PropertyExecutionResult result;
        AROUND.set(true);
        try {
            result = property.execute();
        } finally {
            AROUND.set(false);
        }
        List<NettyLeakCheck.Leak> leaks = NettyLeakCheck.collect();
        if (leaks.isEmpty() || result.status() != PropertyExecutionResult.Status.SUCCESSFUL) {
            return result;
        }
        return result.mapToFailed(new AssertionError(
                LeakCheckExtension.describe(context.extendedLabel(), leaks)));
    }
}
