package io.opsec.examples;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.link.ForwardingLink;
import io.opsec.stack.link.Link;

/**
 * A link decorator that shows every packet its host sends and receives to a watcher (for the
 * ladder), then passes it on unchanged.
 */
final class WatchLink extends ForwardingLink {
    /** Sees each packet; borrows it for the duration of the call. */
    interface Watcher {
        void packet(ByteBuf packet, long nowNanos, boolean sent);
    }

    private final Watcher watcher;

    WatchLink(Link inner, Watcher watcher) {
        super(inner);
        this.watcher = watcher;
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
}
