package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * A link decorator's base: every call goes to the inner link unchanged, so a decorator (a pcap
 * tap, a framing, a watcher) overrides only the calls it changes. Ownership is the inner link's
 * contract: a transmitted packet passes to it, a received one comes from it to the caller.
 */
public abstract class ForwardingLink implements Link {
    /** The link this one decorates. */
    protected final Link inner;

    protected ForwardingLink(Link inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public void transmit(ByteBuf packet, long nowNanos) {
        inner.transmit(packet, nowNanos);
    }

    @Override
    public ByteBuf receive(long nowNanos) {
        return inner.receive(nowNanos);
    }

    @Override
    public long nextArrivalAt() {
        return inner.nextArrivalAt();
    }

    @Override
    public void onArrival(Runnable wakeup) {
        inner.onArrival(wakeup);
    }

    /** Closes the inner link. */
    @Override
    public void close() {
        inner.close();
    }
}
