package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;

/**
 * A box on one direction of a {@link MemoryLink} that sees every packet sent that way (after the
 * MTU check, before the other impairments) and may pass it, rewrite it in place, replace it or
 * drop it. Ready-made ones for TCP option tampering are in {@link Middleboxes}.
 *
 * <p>Called on the transmitting thread, one packet at a time per direction, so a middlebox that
 * keeps state needs no lock of its own unless it is shared between directions or links. It must
 * not call back into the link.
 */
@FunctionalInterface
public interface Middlebox {

    /** Passes every packet unchanged. */
    Middlebox NONE = (packet, now) -> packet;

    /**
     * Processes one packet.
     *
     * @param packet   one whole IPv4 packet; <b>the middlebox takes ownership</b>
     * @param nowNanos the transmitter's clock
     * @return the packet to forward, <b>owned by the link</b> from then on: {@code packet} itself
     *         (possibly modified), or a replacement (then {@code packet} must have been released),
     *         or {@code null} to drop it (then {@code packet} must have been released)
     */
    ByteBuf process(ByteBuf packet, long nowNanos);

    /** This middlebox, then {@code next} on what it forwards (nothing if it dropped the packet). */
    default Middlebox andThen(Middlebox next) {
        return (packet, now) -> {
            ByteBuf out = process(packet, now);
            return out == null ? null : next.process(out, now);
        };
    }
}
