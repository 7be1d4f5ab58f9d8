package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** UdpTunnelLink over real loopback sockets: the only link tests that wait on real time (bounded). */
class UdpTunnelLinkTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private <T extends AutoCloseable> T closing(T t) {
        toClose.add(t);
        return t;
    }

    static InetSocketAddress loopback(int port) {
        return new InetSocketAddress(LOOPBACK, port);
    }

    /** A free UDP port on loopback (bound then released; good enough on a test machine). */
    static int freePort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    /** Two tunnel ends pointed at each other. */
    private UdpTunnelLink[] pair(int mtu, int queue) throws IOException {
        int pa = freePort();
        int pb = freePort();
        UdpTunnelLink a = closing(UdpTunnelLink.builder().local(loopback(pa)).peer(loopback(pb)).mtu(mtu)
                .queueCapacity(queue).build());
        UdpTunnelLink b = closing(UdpTunnelLink.builder().local(loopback(pb)).peer(loopback(pa)).mtu(mtu)
                .queueCapacity(queue).build());
        return new UdpTunnelLink[] {a, b};
    }

    static ByteBuf packet(int id, int length) {
        return MemoryLinkTest.packet(id, length);
    }

    /** Waits, bounded, for a packet on {@code link}, woken by its onArrival callback. */
    static ByteBuf await(Link link, Semaphore arrivals) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            ByteBuf p = link.receive(System.nanoTime());
            if (p != null) {
                return p;
            }
            arrivals.tryAcquire(100, TimeUnit.MILLISECONDS);
        }
        return null;
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(2);
        }
    }

    @Test
    void twoTunnels_exchangePacketsBothWays_inOrder() throws Exception {
        UdpTunnelLink[] l = pair(1500, 1024);
        Semaphore atA = new Semaphore(0);
        Semaphore atB = new Semaphore(0);
        l[0].onArrival(atA::release);
        l[1].onArrival(atB::release);
        assertEquals(1500, l[0].mtu());
        for (int i = 0; i < 50; i++) {
            l[0].transmit(packet(i, 40 + i), System.nanoTime());
            l[1].transmit(packet(1000 + i, 1500), System.nanoTime());
        }
        for (int i = 0; i < 50; i++) {
            ByteBuf p = await(l[1], atB);
            assertNotNull(p, "packet " + i + " at b");
            assertEquals(40 + i, p.readableBytes());
            assertEquals(i, p.getInt(p.readerIndex()), "loopback keeps order");
            p.release();
            ByteBuf q = await(l[0], atA);
            assertEquals(1000 + i, q.getInt(q.readerIndex()));
            q.release();
        }
        assertEquals(50, l[0].counters().sent());
        assertEquals(50, l[1].counters().received());
        assertEquals(Long.MAX_VALUE, l[0].nextArrivalAt());
    }

    @Test
    void nextArrivalAt_isTheArrivalStampOnTheLinksClock() throws Exception {
        int pa = freePort();
        int pb = freePort();
        long[] clock = {5_000};
        UdpTunnelLink a = closing(UdpTunnelLink.open(loopback(pa), loopback(pb)));
        UdpTunnelLink b = closing(UdpTunnelLink.builder().local(loopback(pb)).peer(loopback(pa))
                .clock(() -> clock[0]).build());
        a.transmit(packet(1, 40), 0);
        eventually(() -> b.counters().received() == 1, "arrival");
        assertEquals(5_000, b.nextArrivalAt());
        ByteBuf p = b.receive(0); // a socket cannot deliver from the future: now does not hold it back
        assertNotNull(p);
        p.release();
    }

    @Test
    void mtu_dropsOversizePacketsBothWays() throws Exception {
        UdpTunnelLink[] l = pair(576, 16);
        l[0].transmit(packet(1, 577), 0);
        assertEquals(1, l[0].counters().oversize());
        assertEquals(0, l[0].counters().sent());
        // A peer with a larger MTU sends a 600-byte datagram: b drops it on arrival.
        try (DatagramSocket raw = new DatagramSocket(null)) {
            raw.setReuseAddress(true);
            l[0].close(); // free a's port so the raw socket can speak as the peer
            raw.bind(l[0].localAddress());
            raw.send(new DatagramPacket(new byte[600], 600, l[1].localAddress()));
            raw.send(new DatagramPacket(new byte[576], 576, l[1].localAddress()));
            eventually(() -> l[1].counters().received() == 1, "the 576-byte datagram");
            assertEquals(1, l[1].counters().oversize());
        }
        ByteBuf p = l[1].receive(0);
        assertEquals(576, p.readableBytes());
        p.release();
    }

    @Test
    void datagramsFromOtherAddresses_areDroppedAndCounted() throws Exception {
        UdpTunnelLink[] l = pair(1500, 16);
        try (DatagramSocket stranger = new DatagramSocket(0, LOOPBACK)) {
            stranger.send(new DatagramPacket(new byte[40], 40, l[1].localAddress()));
            eventually(() -> l[1].counters().foreign() == 1, "the foreign datagram");
        }
        assertNull(l[1].receive(0));
    }

    @Test
    void fullQueue_dropsAndCounts_andWakesForWhatItKeeps() throws Exception {
        UdpTunnelLink[] l = pair(1500, 4);
        Semaphore wakeups = new Semaphore(0);
        l[1].onArrival(wakeups::release);
        for (int i = 0; i < 10; i++) {
            l[0].transmit(packet(i, 100), 0);
        }
        eventually(() -> l[1].counters().received() + l[1].counters().queueDropped() == 10, "ten datagrams");
        assertEquals(4, l[1].counters().received());
        assertEquals(6, l[1].counters().queueDropped());
        assertEquals(4, wakeups.availablePermits());
        for (int i = 0; i < 4; i++) {
            ByteBuf p = l[1].receive(0);
            assertEquals(i, p.getInt(p.readerIndex()));
            p.release();
        }
    }

    @Test
    void close_stopsTheReader_releasesQueuedPackets_andDropsLaterTransmits() throws Exception {
        UdpTunnelLink[] l = pair(1500, 16);
        for (int i = 0; i < 3; i++) {
            l[0].transmit(packet(i, 100), 0);
        }
        eventually(() -> l[1].counters().received() == 3, "three datagrams");
        l[1].close();
        assertFalse(l[1].readerAlive());
        assertEquals(3, l[1].counters().discarded());
        assertNull(l[1].receive(0));
        l[1].transmit(packet(9, 40), 0);
        assertEquals(4, l[1].counters().discarded());
        l[1].close(); // idempotent
        // The leak check after this test proves the queued packets were released.
    }

    @Test
    void sendFailures_areCountedAndReleased_notThrown() throws Exception {
        // Port 0 is not a destination: the kernel refuses the send.
        UdpTunnelLink l = closing(UdpTunnelLink.open(loopback(0), loopback(0)));
        l.transmit(packet(1, 40), 0);
        assertEquals(1, l.counters().sendErrors());
        assertEquals(0, l.counters().sent());
    }

    @Test
    void builder_rejectsMissingAddressesAndNonsense() {
        assertThrows(NullPointerException.class, () -> UdpTunnelLink.builder().local(loopback(0)).build());
        assertThrows(IllegalArgumentException.class, () -> UdpTunnelLink.builder().mtu(65508));
        assertThrows(IllegalArgumentException.class, () -> UdpTunnelLink.builder().queueCapacity(0));
        assertThrows(IllegalArgumentException.class, () -> UdpTunnelLink.builder().local(loopback(0))
                .peer(InetSocketAddress.createUnresolved("nowhere.invalid", 1)).build());
    }

    @Test
    void socat_bridgesTwoTunnels() throws Exception {
        assumeTrue(hasSocat(), "socat is not installed");
        int s1 = freePort();
        int s2 = freePort();
        int pa = freePort();
        int pb = freePort();
        UdpTunnelLink a = closing(UdpTunnelLink.open(loopback(pa), loopback(s1)));
        UdpTunnelLink b = closing(UdpTunnelLink.open(loopback(pb), loopback(s2)));
        String host = LOOPBACK.getHostAddress();
        Process socat = new ProcessBuilder("socat",
                "UDP-DATAGRAM:" + host + ":" + pa + ",bind=" + host + ":" + s1,
                "UDP-DATAGRAM:" + host + ":" + pb + ",bind=" + host + ":" + s2)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        toClose.add(() -> {
            socat.destroy();
            socat.waitFor(5, TimeUnit.SECONDS);
        });
        Semaphore atB = new Semaphore(0);
        b.onArrival(atB::release);
        // socat needs a moment to bind; probe until a packet makes it through (bounded).
        ByteBuf got = null;
        for (int i = 0; i < 100 && got == null; i++) {
            a.transmit(packet(i, 60), System.nanoTime());
            atB.tryAcquire(100, TimeUnit.MILLISECONDS);
            got = b.receive(System.nanoTime());
        }
        assertNotNull(got, "nothing crossed socat");
        got.release();
        for (ByteBuf p; (p = b.receive(0)) != null; ) {
            p.release();
        }
        Semaphore atA = new Semaphore(0);
        a.onArrival(atA::release);
        b.transmit(packet(4242, 1500), System.nanoTime());
        ByteBuf back = await(a, atA);
        assertNotNull(back, "nothing crossed socat the other way");
        assertEquals(1500, back.readableBytes());
        assertEquals(4242, back.getInt(back.readerIndex()));
        back.release();
    }

    /**
     * The real thing: socat bridges the tunnel to a kernel TUN device, and the Linux kernel
     * answers a SYN to a closed port with a RST. Needs root, /dev/net/tun and socat; the subnet
     * (in 198.18.0.0/15, benchmarking space) is derived from the pid so parallel JVMs do not clash.
     */
    @Test
    void tun_kernelAnswersASynThroughSocat() throws Exception {
        assumeTrue(hasSocat(), "socat is not installed");
        assumeTrue(Files.isReadable(Path.of("/dev/net/tun"))
                && "root".equals(System.getProperty("user.name")), "needs root and /dev/net/tun");
        int subnet = 128 + (int) (ProcessHandle.current().pid() % 100);
        String kernelIp = "198.19." + subnet + ".1";
        int kernel = 0xC6130001 | subnet << 8;
        int stack = kernel + 1;
        int linkPort = freePort();
        int socatPort = freePort();
        UdpTunnelLink link = closing(UdpTunnelLink.open(loopback(linkPort), loopback(socatPort)));
        String host = LOOPBACK.getHostAddress();
        Process socat = new ProcessBuilder("socat",
                "TUN:" + kernelIp + "/24,iff-no-pi,tun-type=tun,iff-up",
                "UDP-DATAGRAM:" + host + ":" + linkPort + ",bind=" + host + ":" + socatPort)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        toClose.add(() -> {
            socat.destroy();
            socat.waitFor(5, TimeUnit.SECONDS);
        });
        Semaphore arrivals = new Semaphore(0);
        link.onArrival(arrivals::release);
        TcpSegment rst = null;
        for (int attempt = 0; attempt < 50 && rst == null; attempt++) {
            ByteBuf syn = ByteBufAllocator.DEFAULT.buffer();
            TcpSegment.emit(syn, stack, kernel, attempt,
                    TcpHeader.of(40000 + attempt, 9, 1000, 0, TcpFlags.SYN,
                            65535, List.of(new TcpOption.Mss(1460))), null);
            link.transmit(syn, System.nanoTime());
            arrivals.tryAcquire(200, TimeUnit.MILLISECONDS);
            for (ByteBuf p; (p = link.receive(System.nanoTime())) != null; ) {
                try {
                    ParseResult<TcpSegment> parsed = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT);
                    if (parsed.isOk() && parsed.value().ip().source() == kernel) { // not the kernel's IPv6 chatter
                        rst = parsed.value();
                        int port = rst.tcp().destinationPort(); // an answer to this or an earlier attempt
                        assertTrue(port >= 40000 && port <= 40000 + attempt, rst.toString());
                    }
                } finally {
                    p.release();
                }
            }
        }
        assertNotNull(rst, "no answer from the kernel through the TUN device");
        assertTrue(rst.tcp().has(TcpFlags.RST), rst.toString());
        assertEquals(1001, rst.tcp().ack(), "RFC 9293: the RST acknowledges the SYN");
    }

    static boolean hasSocat() {
        try {
            Process p = new ProcessBuilder("socat", "-V").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @Test
    void allocator_isUsedForReceivedPackets() throws Exception {
        int pa = freePort();
        int pb = freePort();
        UdpTunnelLink a = closing(UdpTunnelLink.open(loopback(pa), loopback(pb)));
        UdpTunnelLink b = closing(UdpTunnelLink.builder().local(loopback(pb)).peer(loopback(pa))
                .allocator(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT).build());
        ByteBuf direct = ByteBufAllocator.DEFAULT.directBuffer(40).writeZero(40);
        a.transmit(direct, 0);
        eventually(() -> b.counters().received() == 1, "arrival");
        ByteBuf p = b.receive(0);
        assertTrue(p.alloc() == io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, p.alloc().toString());
        p.release();
    }
}
