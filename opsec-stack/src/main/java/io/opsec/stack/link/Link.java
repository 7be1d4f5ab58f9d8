package io.opsec.stack.link;

import io.netty.buffer.ByteBuf;

/**
 * One network interface of a host: it carries whole IPv4 packets, one per call, in both
 * directions.
 *
 * <p>A link is <em>polled</em>, never pushed into the stack: the owner of the stack (the runtime's
 * event loop, or the simulator on virtual time) calls {@link #receive(long)} until it returns
 * {@code null}, and asks {@link #nextArrivalAt()} when to look again. Time is always an argument,
 * in nanoseconds on the caller's clock ({@link System#nanoTime()} for the runtime, the virtual
 * clock in the simulator), so the same link works for both. {@link #onArrival(Runnable)} lets a
 * sleeping event loop be woken when a packet becomes available from another thread.
 *
 * <p>A link never throws for a packet it cannot carry: a packet larger than {@link #mtu()}, one
 * lost to an impairment, one that finds a queue full or the link closed is released, counted in
 * the link's counters and logged at debug.
 *
 * <p>Faults and capture are decorators over a link (see {@link MemoryLink}'s {@link Impairments}
 * and {@link Middlebox}, and {@link PcapTap}), not flags on it. See {@code docs/links.md}.
 */
public interface Link extends AutoCloseable {

    /** Largest IPv4 packet, in bytes, that this link carries (the IP MTU). */
    int mtu();

    /**
     * Sends one IPv4 packet.
     *
     * @param packet the whole IPv4 packet, from its reader index to its writer index;
     *               <b>ownership passes to the link</b>, which releases it when done (also when it
     *               drops the packet, for instance for exceeding the MTU)
     * @param nowNanos the caller's clock
     */
    void transmit(ByteBuf packet, long nowNanos);

    /**
     * Takes the next packet that has arrived by {@code nowNanos}.
     *
     * @return one whole IPv4 packet, <b>owned by the caller</b> (who must release it), or
     *         {@code null} when nothing has arrived by then
     */
    ByteBuf receive(long nowNanos);

    /**
     * When the next packet will be ready for {@link #receive(long)}: a time at or before "now" if
     * one is ready, {@link Long#MAX_VALUE} if none is queued (a link fed from outside, such as a
     * UDP socket, stamps each arrival with the runtime's clock and also reports it through
     * {@link #onArrival(Runnable)}).
     */
    long nextArrivalAt();

    /**
     * Registers the callback run, from any thread, when a packet is queued for this end, possibly
     * before it is due (a wire with latency queues it at once): a woken loop should look at
     * {@link #nextArrivalAt()} again. At most one callback; a later call replaces it. The callback
     * must be cheap and must not block.
     */
    void onArrival(Runnable wakeup);

    /** Releases every queued packet and any socket; later transmits are dropped and released. */
    @Override
    void close();
}
