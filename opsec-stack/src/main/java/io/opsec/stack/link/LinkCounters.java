package io.opsec.stack.link;

/**
 * A snapshot of what happened to the packets sent one way over a link. Every packet handed to
 * {@code transmit} counts in {@link #sent}; each one then ends in exactly one of the drop
 * counters, or is delivered (a duplicate adds one delivery), or is still in flight.
 *
 * @param sent             packets handed to {@code transmit}
 * @param delivered        packets handed out by {@code receive} (duplicates included)
 * @param lost             packets lost at random
 * @param duplicated       extra copies made
 * @param corrupted        packets that had bits flipped (and were still delivered)
 * @param middleboxDropped packets the middlebox dropped
 * @param oversize         packets larger than the MTU, dropped
 * @param queueOverflow    packets tail-dropped because the bandwidth queue was full
 * @param discarded        packets dropped because an end was closed (sent after, or queued at, close)
 */
public record LinkCounters(long sent, long delivered, long lost, long duplicated, long corrupted,
                           long middleboxDropped, long oversize, long queueOverflow, long discarded) {

    /** All packets dropped on the way, for any reason. */
    public long dropped() {
        return lost + middleboxDropped + oversize + queueOverflow + discarded;
    }

    /** Packets queued for the receiver but not yet taken: sent + duplicated - delivered - dropped. */
    public long inFlight() {
        return sent + duplicated - delivered - dropped();
    }
}
