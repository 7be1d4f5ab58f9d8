package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The lab's own machinery: cleanup leaves nothing behind, and the relay really impairs. */
@Tag("kernel")
class KernelLabTest {

    @Test
    @Timeout(60)
    void close_removesNamespacesDevicesAndProcesses() {
        String ns;
        String dev;
        long socat;
        KernelLab lab = KernelLab.open("lab-cleanup");
        try {
            KernelLab.Namespace n = lab.namespace("k");
            KernelLab.Tunnel tun = lab.tunnel(n, 5, Impairment.CLEAN, 1, 1500);
            ns = n.name();
            dev = tun.device();
            assertTrue(KernelLab.run(List.of("ip", "netns", "list")).contains(ns));
            assertTrue(KernelLab.run(n.ip("-o", "addr", "show", "dev", dev)).contains("198.18.5.1/24"),
                    "the device is configured inside the namespace");
            assertFalse(Files.exists(Path.of("/sys/class/net", dev)), "and no longer in the root namespace");
            socat = ProcessHandle.current().children()
                    .filter(p -> p.info().commandLine().map(c -> c.contains("tun-name=" + dev)).orElse(false))
                    .findFirst().orElseThrow().pid();
        } finally {
            lab.close();
        }
        assertFalse(KernelLab.run(List.of("ip", "netns", "list")).contains(ns), "namespace deleted");
        assertFalse(ProcessHandle.of(socat).map(ProcessHandle::isAlive).orElse(false), "socat ended");
        assertFalse(Files.exists(Path.of("/sys/class/net", dev)), "TUN device gone");
        lab.close(); // twice is harmless
    }

    /** The netem VM ends with its lab, and its taps (and the namespace they were moved to) with it. */
    @Test
    @Timeout(240)
    void close_endsTheNetemVmAndItsTaps() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NetemVm.wanted(), "no netem VM on this machine");
        String ns;
        String tap;
        long qemu;
        KernelLab lab = KernelLab.open("lab-vm-cleanup");
        try {
            KernelLab.Namespace n = lab.namespace("k");
            NetemVm.Tap a = new NetemVm.Tap(lab.unique("okv", 15), io.opsec.stack.link.MacAddress.parse("52:54:00:00:00:01"));
            NetemVm.Tap b = new NetemVm.Tap(lab.unique("okv", 15), io.opsec.stack.link.MacAddress.parse("52:54:00:00:00:02"));
            NetemVm vm = NetemVm.boot(lab, List.of(a, b));
            vm.attach(a, n, io.opsec.stack.link.MacAddress.parse("02:00:00:00:01:01"), "198.18.6.1");
            vm.apply(List.of(Impairment.COMBINED, Impairment.COMBINED));
            assertTrue(String.join("\n", vm.run("tc qdisc show dev eth1")).contains("reorder 25%"));
            vm.apply(List.of(Impairment.CLEAN, Impairment.CLEAN));
            assertTrue(NetemVm.mismatch(Impairment.CLEAN, String.join(" ", vm.run("tc qdisc show dev eth1"))) == null,
                    "a change back to clean leaves nothing of the combined profile");
            ns = n.name();
            tap = a.device();
            assertTrue(KernelLab.run(n.ip("-o", "addr", "show", "dev", tap)).contains("198.18.6.1/24"));
            qemu = ProcessHandle.current().children()
                    .filter(p -> p.info().commandLine().map(c -> c.contains(NetemVm.NAME_PREFIX + lab.dir().getFileName())).orElse(false))
                    .findFirst().orElseThrow().pid();
        } finally {
            lab.close();
        }
        assertFalse(ProcessHandle.of(qemu).map(ProcessHandle::isAlive).orElse(false), "QEMU ended");
        assertFalse(KernelLab.run(List.of("ip", "netns", "list")).contains(ns), "namespace deleted");
        assertFalse(Files.exists(Path.of("/sys/class/net", tap)), "tap gone, not returned to the root namespace");
    }

    /** 2000 datagrams through a seeded relay: each impairment shows at about its rate. */
    @Test
    @Timeout(60)
    void relay_lossDuplicationCorruption_atTheirRates(@TempDir Path tmp) throws IOException {
        Impairment p = new Impairment("test", 0.10, 0, 0, 0, 0.10, 0.10);
        int n = 2000;
        try (DatagramSocket a = bind(); DatagramSocket b = bind();
             ImpairedRelay relay = ImpairedRelay.start(p, 42, (InetSocketAddress) a.getLocalSocketAddress(),
                     (InetSocketAddress) b.getLocalSocketAddress(), tmp.resolve("tap.pcap"))) {
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.portA());
            for (int i = 0; i < n; i++) {
                byte[] payload = payload(i);
                a.send(new DatagramPacket(payload, payload.length, to));
            }
            Map<Integer, Integer> copies = new HashMap<>();
            int corrupted = 0;
            byte[] buf = new byte[2048];
            b.setSoTimeout(1000);
            while (true) {
                DatagramPacket dp = new DatagramPacket(buf, buf.length);
                try {
                    b.receive(dp);
                } catch (SocketTimeoutException e) {
                    break; // the relay has had a second to pass everything on
                }
                byte[] got = java.util.Arrays.copyOf(buf, dp.getLength());
                int i = index(got);
                int diff = bitsDiffering(got, payload(i));
                assertTrue(diff <= 1, "corruption flips exactly one bit, not " + diff);
                corrupted += diff;
                copies.merge(i, 1, Integer::sum);
            }
            long lost = n - copies.size();
            long dups = copies.values().stream().filter(c -> c == 2).count();
            assertTrue(lost > n * 0.07 && lost < n * 0.13, "lost " + lost);
            assertTrue(dups > n * 0.06 && dups < n * 0.12, "duplicated " + dups);
            assertTrue(corrupted > n * 0.06 && corrupted < n * 0.12, "corrupted " + corrupted);
            assertEquals(n, relay.statsAtoB().received.get(), "nothing dropped before the relay");
            assertEquals(lost, relay.statsAtoB().lost.get());
            assertEquals(dups, relay.statsAtoB().duplicated.get());
        }
        assertTrue(Files.size(tmp.resolve("tap.pcap")) > 24 + n * (16 + 64L) - 1, "the tap holds every datagram");
    }

    /** Delay with jitter holds every delayed packet at least delay - jitter; reordering lets some overtake. */
    @Test
    @Timeout(60)
    void relay_delayAndReorder(@TempDir Path tmp) throws IOException {
        Impairment p = new Impairment("test", 0, 40, 10, 0.25, 0, 0);
        try (DatagramSocket a = bind(); DatagramSocket b = bind();
             ImpairedRelay relay = ImpairedRelay.start(p, 7, (InetSocketAddress) a.getLocalSocketAddress(),
                     (InetSocketAddress) b.getLocalSocketAddress(), null)) {
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.portA());
            int n = 200;
            long[] sentAt = new long[n];
            long[] arrivedAt = new long[n];
            List<Integer> order = java.util.Collections.synchronizedList(new ArrayList<>());
            b.setSoTimeout(2000);
            // Receive on another thread while sending, so an arrival is stamped when it arrives.
            Thread receiver = new Thread(() -> {
                byte[] buf = new byte[2048];
                try {
                    while (order.size() < n) {
                        DatagramPacket dp = new DatagramPacket(buf, buf.length);
                        b.receive(dp);
                        int i = index(buf);
                        arrivedAt[i] = System.nanoTime();
                        order.add(i);
                    }
                } catch (IOException e) {
                    // the count check below reports it
                }
            });
            receiver.start();
            for (int i = 0; i < n; i++) {
                byte[] payload = payload(i);
                sentAt[i] = System.nanoTime();
                a.send(new DatagramPacket(payload, payload.length, to));
            }
            try {
                receiver.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            assertEquals(n, order.size(), "every datagram arrives (no loss configured)");
            // Scheduling on a busy machine can only make a packet look held longer, so the checks are
            // one-sided: every packet the relay delayed was held at least delay - jitter (30 ms, less
            // 1 ms for clock skew between cores); no more packets look early than the relay sent early.
            long reordered = relay.statsAtoB().reordered.get();
            assertTrue(reordered > n * 0.12 && reordered < n * 0.38, "sent early " + reordered);
            int held = 0;
            int early = 0;
            for (int i = 0; i < n; i++) {
                long ms = (arrivedAt[i] - sentAt[i]) / 1_000_000;
                held += ms >= 29 ? 1 : 0;
                early += ms < 15 ? 1 : 0;
            }
            assertTrue(held >= n - reordered, held + " held of " + (n - reordered) + " delayed");
            assertTrue(early <= reordered, early + " looked early, " + reordered + " were sent early");
            assertFalse(isSorted(order), "some packets overtook others");
        }
    }

    private static DatagramSocket bind() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        s.setReceiveBufferSize(4 << 20); // 2000 small datagrams queue without a drop
        s.setSoTimeout(1000);
        return s;
    }

    /** 64 bytes: the index three times (so one flipped bit cannot hide it), then a pattern. */
    private static byte[] payload(int i) {
        byte[] b = new byte[64];
        for (int c = 0; c < 3; c++) {
            b[2 * c] = (byte) (i >>> 8);
            b[2 * c + 1] = (byte) i;
        }
        for (int k = 6; k < b.length; k++) {
            b[k] = (byte) (i * 31 + k);
        }
        return b;
    }

    /** The index by majority of its three copies. */
    private static int index(byte[] b) {
        int x = ((b[0] & 0xFF) << 8) | (b[1] & 0xFF);
        int y = ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        int z = ((b[4] & 0xFF) << 8) | (b[5] & 0xFF);
        return x == y || x == z ? x : y;
    }

    private static int bitsDiffering(byte[] x, byte[] y) {
        assertEquals(y.length, x.length);
        int d = 0;
        for (int k = 0; k < x.length; k++) {
            d += Integer.bitCount((x[k] ^ y[k]) & 0xFF);
        }
        return d;
    }

    private static boolean isSorted(List<Integer> l) {
        for (int k = 1; k < l.size(); k++) {
            if (l.get(k) < l.get(k - 1)) {
                return false;
            }
        }
        return true;
    }
}
