package io.opsec.examples.kernel;

import io.opsec.stack.link.MacAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What netem did, measured from the two captures of a {@link NetemVm.Capture}: each NIC's pcap
 * holds the frames its end sent into the VM (source address: that end's MAC) and the frames the VM
 * delivered to it. Matching the frames one end sent with those delivered to the other, byte for
 * byte, gives per direction the frames lost, duplicated, corrupted (delivered one bit away from a
 * frame sent: netem flips a bit), delivered late (after a frame sent later: reordering) and the one-way delay.
 *
 * <p>It also writes the capture the tshark checks read: the IPv4 packets each end sent, before
 * netem, merged by time into one raw-IPv4 pcap, like the old relay's tap.
 */
final class NetemLedger {
    private NetemLedger() {}

    private static final int ETHERNET_HEADER = 14;

    /** One captured frame. */
    record Frame(long micros, byte[] bytes) {
        MacAddress source() {
            return mac(6);
        }

        MacAddress destination() {
            return mac(0);
        }

        private MacAddress mac(int at) {
            long v = 0;
            for (int i = 0; i < 6; i++) {
                v = (v << 8) | (bytes[at + i] & 0xFF);
            }
            return new MacAddress(v);
        }

        boolean isIpv4() {
            return bytes.length > ETHERNET_HEADER && bytes[12] == 0x08 && bytes[13] == 0x00;
        }
    }

    /**
     * One direction's measurements.
     *
     * @param sent       frames the sending end put into the VM
     * @param delivered  frames the VM put out to the receiving end
     * @param lost       sent frames never delivered, intact or corrupted (or still on the way when the capture stopped)
     * @param duplicated extra deliveries of a sent frame
     * @param corrupted  delivered frames that differ from a sent frame in exactly one bit (netem's corruption)
     * @param unmatched  delivered frames that match no sent frame otherwise: sent while only the other
     *                   NIC's capture ran (the two dump filters start and stop a moment apart)
     * @param late       delivered frames that arrived after one sent later (reordered)
     * @param delayMs    one-way delay of the matched frames: min, median, max (milliseconds)
     */
    record Direction(String name, long sent, long delivered, long lost, long duplicated, long corrupted,
                     long unmatched, long late, double[] delayMs) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s: sent %d, delivered %d, lost %d, duplicated %d, corrupted %d, "
                            + "unmatched %d, late %d, delay ms min/median/max %.1f/%.1f/%.1f", name, sent, delivered, lost,
                    duplicated, corrupted, unmatched, late, delayMs[0], delayMs[1], delayMs[2]);
        }
    }

    /** Both directions, and the merged as-sent capture for tshark. */
    record Result(Direction aToB, Direction bToA, Path asSent) {
        @Override
        public String toString() {
            return aToB + "; " + bToA;
        }
    }

    /**
     * Analyses a two-NIC capture.
     *
     * @param a      end A's NIC capture, with A's MAC
     * @param b      end B's NIC capture, with B's MAC
     * @param asSent where to write the merged raw-IPv4 capture of what each end sent
     */
    static Result analyse(Path a, MacAddress macA, String nameA, Path b, MacAddress macB, String nameB, Path asSent) {
        List<Frame> fa = read(a);
        List<Frame> fb = read(b);
        List<Frame> sentA = fa.stream().filter(f -> f.source().equals(macA)).toList();
        List<Frame> sentB = fb.stream().filter(f -> f.source().equals(macB)).toList();
        List<Frame> toA = fa.stream().filter(f -> !f.source().equals(macA)).toList();
        List<Frame> toB = fb.stream().filter(f -> !f.source().equals(macB)).toList();
        List<Frame> merged = new ArrayList<>();
        merged.addAll(sentA);
        merged.addAll(sentB);
        merged.sort(Comparator.comparingLong(Frame::micros));
        try (PcapFile out = new PcapFile(asSent)) {
            for (Frame f : merged) {
                if (f.isIpv4()) {
                    out.write(f.micros(), f.bytes(), ETHERNET_HEADER, f.bytes().length - ETHERNET_HEADER);
                }
            }
        }
        return new Result(direction(nameA + "->" + nameB, sentA, toB), direction(nameB + "->" + nameA, sentB, toA), asSent);
    }

    /** As {@link #assertShows(Impairment, Impairment, Result)} with the same profile both ways. */
    static void assertShows(Impairment p, Result r) {
        assertShows(p, p, r);
    }

    /**
     * Fails unless the captures show what netem was asked for, {@code pAtoB} on the frames A sent
     * and {@code pBtoA} on B's: no duplicate and no corrupted frame where neither direction has
     * them configured; loss, duplication, corruption and reordering seen when configured and at
     * least ten are expected over both directions; and in a direction with a delay, a median
     * one-way delay of at least delay minus jitter (reordered frames skip the delay, but they are
     * a quarter at most). Lost and late frames without loss or reordering configured are left to
     * {@link #assertLossIsNetems} and the report: a full queue drops, and jitter reorders.
     */
    static void assertShows(Impairment pAtoB, Impairment pBtoA, Result r) {
        Direction x = r.aToB();
        Direction y = r.bToA();
        String what = (pAtoB.equals(pBtoA) ? pAtoB.toString() : pAtoB + " / " + pBtoA) + ": " + r;
        if (pAtoB.duplicate() + pBtoA.duplicate() == 0 && x.duplicated() + y.duplicated() > 0) {
            throw new AssertionError("duplicates without netem duplication: " + what);
        }
        if (pAtoB.corrupt() + pBtoA.corrupt() == 0 && x.corrupted() + y.corrupted() > 0) {
            throw new AssertionError("corrupted frames without netem corruption: " + what);
        }
        expect("loss", pAtoB.loss() * x.sent() + pBtoA.loss() * y.sent(), x.lost() + y.lost(), what);
        expect("duplication", pAtoB.duplicate() * x.sent() + pBtoA.duplicate() * y.sent(),
                x.duplicated() + y.duplicated(), what);
        expect("corruption", pAtoB.corrupt() * x.sent() + pBtoA.corrupt() * y.sent(),
                x.corrupted() + y.corrupted(), what);
        expect("reordering", pAtoB.reorder() * x.sent() + pBtoA.reorder() * y.sent(), x.late() + y.late(), what);
        delayed(pAtoB, x, what);
        delayed(pBtoA, y, what);
    }

    private static void delayed(Impairment p, Direction d, String what) {
        if (p.delayMs() > 0 && d.delivered() >= 20 && d.delayMs()[1] < p.delayMs() - p.jitterMs() - 1) {
            throw new AssertionError(d.name() + ": median one-way delay " + d.delayMs()[1] + " ms under "
                    + p.delayMs() + " - " + p.jitterMs() + " ms: " + what);
        }
    }

    /**
     * Fails unless every frame lost on the way was one netem dropped: {@code lost} in each direction
     * is at most that direction's qdisc {@code dropped} (the qdisc on the receiving end's NIC), with
     * a slack of three for frames crossing while only one dump ran. A loss anywhere else (a QEMU or
     * virtio queue) would add impairment the profile does not name.
     *
     * @param droppedAtoB drops counted by the qdisc on B's NIC over the scenario
     * @param droppedBtoA drops counted by the qdisc on A's NIC over the scenario
     */
    static void assertLossIsNetems(Result r, long droppedAtoB, long droppedBtoA) {
        if (r.aToB().lost() > droppedAtoB + 3 || r.bToA().lost() > droppedBtoA + 3) {
            throw new AssertionError("frames lost outside netem: netem dropped " + droppedAtoB + " and "
                    + droppedBtoA + "; " + r);
        }
    }

    private static void expect(String what, double expected, long seen, String details) {
        if (expected >= 10 && seen == 0) {
            throw new AssertionError("no " + what + " seen where " + Math.round(expected) + " were expected: " + details);
        }
    }

    static Direction direction(String name, List<Frame> sent, List<Frame> delivered) {
        // Sent frames not yet matched, by content; identical frames (a pure duplicate ACK sent twice
        // in one millisecond) queue up in the order they were sent.
        Map<Key, Deque<Integer>> waiting = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            waiting.computeIfAbsent(new Key(sent.get(i).bytes()), k -> new ArrayDeque<>()).add(i);
        }
        long duplicated = 0;
        long corrupted = 0;
        long unmatched = 0;
        long late = 0;
        int highest = -1;
        List<Double> delays = new ArrayList<>();
        OneBit near = null;
        for (Frame d : delivered) {
            Deque<Integer> q = waiting.get(new Key(d.bytes()));
            if (q == null) {
                if (near == null) {
                    near = new OneBit(sent);
                }
                if (near.isOneBitFromASentFrame(d.bytes())) {
                    corrupted++;
                } else {
                    unmatched++;
                }
                continue;
            }
            Integer index = q.poll();
            if (index == null) {
                duplicated++; // every copy sent is delivered already
                continue;
            }
            if (index < highest) {
                late++;
            }
            highest = Math.max(highest, index);
            delays.add((d.micros() - sent.get(index).micros()) / 1000.0);
        }
        long lost = sent.size() - delays.size() - corrupted; // a corrupted frame stands for the one sent
        double[] delay = {0, 0, 0};
        if (!delays.isEmpty()) {
            double[] v = delays.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            delay = new double[] {v[0], v[v.length / 2], v[v.length - 1]};
        }
        return new Direction(name, sent.size(), delivered.size(), lost, duplicated, corrupted, unmatched, late, delay);
    }

    /**
     * Finds sent frames one bit away from a delivered one: a single flipped bit leaves one half of
     * the frame intact, so candidates come from an index of each half (by length), and only those
     * are compared bit by bit.
     */
    private static final class OneBit {
        private final Map<Key, List<byte[]>> byHalf = new HashMap<>();

        OneBit(List<Frame> sent) {
            for (Frame f : sent) {
                byHalf.computeIfAbsent(half(f.bytes(), true), k -> new ArrayList<>()).add(f.bytes());
                byHalf.computeIfAbsent(half(f.bytes(), false), k -> new ArrayList<>()).add(f.bytes());
            }
        }

        private static Key half(byte[] b, boolean first) {
            int mid = b.length / 2;
            byte[] h = first ? Arrays.copyOfRange(b, 0, mid) : Arrays.copyOfRange(b, mid, b.length);
            byte[] keyed = Arrays.copyOf(h, h.length + 5);
            keyed[h.length] = (byte) (first ? 1 : 2);
            keyed[h.length + 1] = (byte) (b.length >>> 24);
            keyed[h.length + 2] = (byte) (b.length >>> 16);
            keyed[h.length + 3] = (byte) (b.length >>> 8);
            keyed[h.length + 4] = (byte) b.length;
            return new Key(keyed);
        }

        boolean isOneBitFromASentFrame(byte[] got) {
            for (boolean first : new boolean[] {true, false}) {
                for (byte[] candidate : byHalf.getOrDefault(half(got, first), List.of())) {
                    int bits = 0;
                    for (int i = 0; i < got.length && bits <= 1; i++) {
                        bits += Integer.bitCount((got[i] ^ candidate[i]) & 0xFF);
                    }
                    if (bits == 1) {
                        return true;
                    }
                }
            }
            return false;
        }
    }

    /** Frame bytes as a map key, with a 64-bit FNV-1a hash computed once. */
    private static final class Key {
        final byte[] bytes;
        final long hash;

        Key(byte[] bytes) {
            this.bytes = bytes;
            long h = 0xcbf29ce484222325L;
            for (byte x : bytes) {
                h ^= x & 0xFF;
                h *= 0x100000001b3L;
            }
            this.hash = h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(hash);
        }
    }

    /** Reads a classic pcap of Ethernet frames (microsecond or nanosecond timestamps, either byte order). */
    static List<Frame> read(Path pcap) {
        byte[] all;
        try {
            all = Files.readAllBytes(pcap);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (all.length < 24) {
            throw new AssertionError(pcap + " is not a pcap file (" + all.length + " bytes)");
        }
        int magic = b.getInt(0);
        if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
            b.order(ByteOrder.BIG_ENDIAN);
            magic = b.getInt(0);
        }
        boolean nanos = magic == 0xa1b23c4d;
        if (!nanos && magic != 0xa1b2c3d4) {
            throw new AssertionError(pcap + ": unknown pcap magic " + Integer.toHexString(magic));
        }
        if (b.getInt(20) != 1) {
            throw new AssertionError(pcap + ": link type " + b.getInt(20) + ", expected Ethernet (1)");
        }
        List<Frame> frames = new ArrayList<>();
        int at = 24;
        while (at + 16 <= all.length) {
            long secs = Integer.toUnsignedLong(b.getInt(at));
            long frac = Integer.toUnsignedLong(b.getInt(at + 4));
            int caplen = b.getInt(at + 8);
            if (caplen < 0 || at + 16 + caplen > all.length) {
                break; // a record cut short: the capture was still being written
            }
            long micros = secs * 1_000_000 + (nanos ? frac / 1000 : frac);
            frames.add(new Frame(micros, Arrays.copyOfRange(all, at + 16, at + 16 + caplen)));
            at += 16 + caplen;
        }
        return frames;
    }
}
