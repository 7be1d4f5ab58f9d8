package io.opsec.examples;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.link.Link;

/**
 * A link decorator that shows every packet its host sends and receives to a watcher (for the
 * ladder), then passes it on unchanged.
 */
final class WatchLink implements Link {
    /** Sees each packet; borrows it for the duration of the call. */
    interface Watcher {
        void packet(ByteBuf packet, long nowNanos, boolean sent);
    }

    private final Link inner;
    private final Watcher watcher;

    WatchLink(Link inner, Watcher watcher) {
        this.inner = inner;
        this.watcher = watcher;
    }

    @Override
    public int mtu() {
        return inner.mtu();
    }

    @Override
    public void transmit(ByteBuf packet, long nowNanos) {
        watcher.packet(packet, nowNanos, true);
        inner.transmit(packet, nowNanos);
    }

    @Override
    public ByteBuf receive(long nowNanos) {
        ByteBuf p = inner.receive(nowNanos);
        if (p != null) {
            watcher.packet(p, nowNanos, false);
        }
        return p;
    }

    @Override
    public long nextArrivalAt() {
        return inner.nextArrivalAt();
    }

    @Override
    public void onArrival(Runnable wakeup) {
        inner.onArrival(wakeup);
    }

    @Override
    public void close() {
        inner.close();
    }
}
