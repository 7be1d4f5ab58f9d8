package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.examples.kernel.KernelPeers.Conn;
import io.opsec.examples.kernel.KernelPeers.Plan;
import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.EthernetFraming;
import io.opsec.stack.link.Link;
import io.opsec.stack.link.MacAddress;
import io.opsec.stack.link.UdpTunnelLink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our stack against the Linux kernel's TCP, through a TUN device in a namespace, under each netem
 * profile of issue 6 (applied by the lab's relay on the tunnel, both directions). Every transfer
 * is checked byte-exact by SHA-256 at both ends; goodput is recorded next to the
 * kernel-to-kernel baseline ({@link KernelBaselineTest}) over the same path and profile.
 *
 * <p>Linux ignores the OPSEC option, so every connection here must run plain TCP, and say so.
 */
@Tag("kernel")
class KernelStackTest {
    private static final int SO_TIMEOUT_MS = 90_000;

    static long bulk(Impairment p) {
        return KernelBaselineTest.sizeFor(p);
    }

    static Stream<Impairment> profiles() {
        return KernelBaselineTest.profiles();
    }

    /** The ends' MACs on the VM path; at least two bits apart, so one flipped bit cannot turn one into the other. */
    static final MacAddress KERNEL_MAC = MacAddress.parse("02:00:00:00:01:01");
    static final MacAddress STACK_MAC = MacAddress.parse("02:00:00:00:02:02");
    private static final int VM_SUBNET = 20;

    /** The class's netem VM and the namespace behind it, booted once; null when the relay stands in. */
    private static VmPath vm;

    @BeforeAll
    static void bootNetemVm() {
        if (NetemVm.wanted()) {
            vm = VmPath.boot();
        }
    }

    @AfterAll
    static void stopNetemVm() {
        if (vm != null) {
            vm.close();
            vm = null;
        }
    }

    /**
     * The VM path, booted once for the class: our stack's frames go in UDP datagrams to the VM's
     * eth0 ({@link EthernetFraming} over {@link UdpTunnelLink}, QEMU's socket backend); its eth1 is
     * a tap in the kernel's namespace at 198.18.20.1, which knows our MAC from a static neighbour
     * entry (the link answers no ARP).
     */
    static final class VmPath implements AutoCloseable {
        final KernelLab lab;
        final KernelLab.Namespace ns;
        final NetemVm vm;
        final int vmPort;
        final int stackPort;

        private VmPath(KernelLab lab, KernelLab.Namespace ns, NetemVm vm, int vmPort, int stackPort) {
            this.lab = lab;
            this.ns = ns;
            this.vm = vm;
            this.vmPort = vmPort;
            this.stackPort = stackPort;
        }

        static VmPath boot() {
            KernelLab lab = KernelLab.open("stack-netem");
            try {
                KernelLab.Namespace ns = lab.namespace("k");
                int vmPort = KernelLab.freeUdpPort();
                int stackPort = KernelLab.freeUdpPort();
                NetemVm.Tap tap = new NetemVm.Tap(lab.unique("okv", 15), MacAddress.parse("52:54:00:00:00:02"));
                NetemVm vm = NetemVm.boot(lab, List.of(
                        new NetemVm.Udp(vmPort, stackPort, MacAddress.parse("52:54:00:00:00:01")), tap));
                vm.attach(tap, ns, KERNEL_MAC, address(1));
                KernelLab.run(ns.ip("neigh", "replace", address(2), "lladdr", STACK_MAC.toString(), "dev", tap.device(),
                        "nud", "permanent"));
                return new VmPath(lab, ns, vm, vmPort, stackPort);
            } catch (RuntimeException | Error e) {
                lab.close();
                throw e;
            }
        }

        static String address(int host) {
            return "198.18." + VM_SUBNET + "." + host;
        }

        @Override
        public void close() {
            lab.close();
        }
    }

    /**
     * One scenario's path to the kernel and our stack at .2: through the class's netem VM with
     * {@code profile} applied, or (without the VM) a fresh namespace, tunnel and impairing relay.
     */
    static final class Rig implements AutoCloseable {
        final KernelLab lab;
        final KernelLab.Namespace ns;
        final String kernelAddress;
        final String stackAddress;
        final OpsecStack stack;
        final Impairment profile;
        private final Link link;
        private final UdpTunnelLink udp;
        private final KernelLab.Tunnel tun;
        private final NetemVm.Capture capture;
        private final Path dir;
        private List<NetemVm.QdiscStats> before;

        /** With {@code capture}, the VM path records this scenario for {@link #finishCapture()}. */
        Rig(String label, Impairment profile, int subnet, boolean capture) throws IOException {
            this.profile = profile;
            if (vm != null) {
                lab = vm.lab;
                ns = vm.ns;
                kernelAddress = VmPath.address(1);
                stackAddress = VmPath.address(2);
                tun = null;
                dir = lab.dir().resolve(label + "-" + profile.name());
                vm.vm.apply(profile);
                before = vm.vm.qdiscStats();
                this.capture = capture ? vm.vm.capture(dir, "vm") : null;
                udp = UdpTunnelLink.builder().local(new InetSocketAddress(InetAddress.getLoopbackAddress(), vm.stackPort))
                        .peer(new InetSocketAddress(InetAddress.getLoopbackAddress(), vm.vmPort))
                        .mtu(1500 + EthernetFraming.HEADER_LENGTH).build();
                link = EthernetFraming.builder(udp).local(STACK_MAC).peer(KERNEL_MAC).build();
                try {
                    stack = OpsecStack.builder().address(stackAddress).link(link).build();
                } catch (RuntimeException e) {
                    link.close();
                    throw e;
                }
                return;
            }
            lab = KernelLab.open(label + "-" + profile.name());
            this.capture = null;
            dir = lab.dir();
            boolean built = false;
            UdpTunnelLink l = null;
            try {
                ns = lab.namespace("k");
                tun = lab.tunnel(ns, subnet, profile, subnet * 31L + 7, 1500);
                kernelAddress = tun.kernelAddress();
                stackAddress = tun.stackAddress();
                l = UdpTunnelLink.builder().local(tun.stackBind()).peer(tun.stackPeer()).build();
                udp = l;
                link = l;
                stack = OpsecStack.builder().address(stackAddress).link(l).build();
                built = true;
            } finally {
                if (!built) {
                    if (l != null) {
                        l.close();
                    }
                    lab.close();
                }
            }
        }

        Socket connect(int port) throws IOException {
            Socket s = stack.socketFactory().createSocket();
            s.setSoTimeout(SO_TIMEOUT_MS);
            s.connect(new InetSocketAddress(kernelAddress, port), 30_000);
            return s;
        }

        /**
         * Ends the capture and returns the pcap of what each end sent, before impairment. On the VM
         * path it first checks, from the NICs' captures, that netem did what the profile says
         * ({@link NetemLedger#assertShows}), and prints what it measured.
         */
        Path finishCapture() {
            if (tun != null) {
                tun.relay().close(); // flushes the tap
                return tun.tap();
            }
            capture.drainAndClose(profile);
            List<NetemVm.QdiscStats> after = vm.vm.qdiscStats();
            NetemLedger.Result r = NetemLedger.analyse(capture.files().get(0), STACK_MAC, "opsec",
                    capture.files().get(1), KERNEL_MAC, "kernel", dir.resolve("as-sent.pcap"));
            System.out.println("netem " + profile + " measured: " + r + "; qdisc " + after.get(0).minus(before.get(0))
                    + ", " + after.get(1).minus(before.get(1)));
            NetemLedger.assertShows(NetemVm.on(1, profile), NetemVm.on(0, profile), r);
            NetemLedger.assertLossIsNetems(r, after.get(1).minus(before.get(1)).dropped(),
                    after.get(0).minus(before.get(0)).dropped());
            for (Path f : Boolean.getBoolean("kernel.keepCaptures") ? List.<Path>of() : capture.files()) {
                try {
                    Files.deleteIfExists(f); // as-sent.pcap keeps what tshark needs
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return r.asSent();
        }

        /**
         * Closes the stack (and its link), then the capture or the relay (and, without the VM, the
         * lab). The link's counters go to the test output: a full inbound queue (the event loop
         * starved of CPU) drops ACKs, which shows in the capture as spurious retransmissions.
         */
        @Override
        public void close() {
            try {
                stack.close();
                System.out.println("link " + profile.name() + ": " + udp.counters()
                        + (link instanceof EthernetFraming e ? "; ethernet " + e.counters() : "")
                        + (tun != null ? "; relay to-stack " + tun.relay().statsBtoA() + "; from-stack "
                        + tun.relay().statsAtoB() : ""));
            } finally {
                if (tun != null) {
                    tun.relay().close();
                    lab.close();
                } else if (capture != null) {
                    capture.close();
                }
            }
        }
    }

    /** A kernel server port for a scenario under a profile: each profile its own, so no 4-tuple repeats in one namespace. */
    static int port(int base, Impairment p) {
        return base + 10 * Math.max(0, Impairment.ISSUE_PROFILES.indexOf(p));
    }

    /** What one end of ours saw: bytes, SHA-256 and seconds. */
    record Side(long bytes, String sha256, double secs) {}

    // ---------------------------------------------------------------- scenarios

    /**
     * Our client downloads from a kernel server: the kernel sends, then closes first (FIN after
     * its data); we read to end of stream and close. Checks the connection ran plain.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void ourClient_downloadsFromKernel_kernelClosesFirst(Impairment p) throws Exception {
        long n = bulk(p);
        try (Rig rig = new Rig("download", p, 10, true)) {
            Proc srv = KernelPeers.serve(rig.lab, rig.ns, rig.kernelAddress, port(7001, p), Plan.send(n));
            Side ours;
            try (Socket s = rig.connect(port(7001, p))) {
                assertPlain(s);
                ours = readAll(s.getInputStream());
            }
            Conn k = KernelPeers.results(srv, Duration.ofSeconds(120)).get(0);
            assertNull(k.error(), k.toString());
            assertEquals(n, k.txBytes());
            assertEquals(n, ours.bytes(), "bytes received");
            assertEquals(k.txSha256(), ours.sha256(), "SHA-256 of the download");
            Tshark.Analysis a = checkCapture(rig);
            Figures.record("opsec<-kernel download", p, n, ours.secs(), a);
            if (p.loss() > 0) {
                // SACK was negotiated; under loss our ACKs must carry SACK blocks (RFC 2018 §4).
                assertTrue(a.from().sackSegments() > 0, "no SACK blocks from us under loss: " + a.from().summary());
            }
        }
    }

    /**
     * Our client uploads to a kernel server that has half-closed at once (it sends nothing): we
     * keep sending into the half-open connection, then close; the kernel reads to end of stream.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void ourClient_uploadsToKernel_afterKernelHalfClose_weCloseFirst(Impairment p) throws Exception {
        long n = bulk(p);
        try (Rig rig = new Rig("upload", p, 11, true)) {
            Proc srv = KernelPeers.serve(rig.lab, rig.ns, rig.kernelAddress, port(7002, p), Plan.receive());
            Side ours;
            try (Socket s = rig.connect(port(7002, p))) {
                assertPlain(s);
                ours = writeRandom(s.getOutputStream(), n, 11);
                // close() without shutdownOutput: we close first, the kernel's FIN came long ago.
            }
            Conn k = KernelPeers.results(srv, Duration.ofSeconds(120)).get(0);
            assertNull(k.error(), k.toString());
            assertEquals(n, k.rxBytes(), "bytes the kernel received");
            assertEquals(ours.sha256(), k.rxSha256(), "SHA-256 of the upload");
            Figures.record("opsec->kernel upload", p, n, k.secs(), checkCapture(rig));
        }
    }

    /**
     * Strict half-close, ours first: we send, shut our output, and only then does the kernel
     * (which waits for our FIN) send its answer, which we read to end of stream.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void ourHalfClose_kernelKeepsSending(Impairment p) throws Exception {
        long up = bulk(p) / 4;
        long down = bulk(p) / 4;
        try (Rig rig = new Rig("halfclose-ours", p, 12, true)) {
            Proc srv = KernelPeers.serve(rig.lab, rig.ns, rig.kernelAddress, port(7003, p),
                    Plan.send(down).sendAfterPeerEof());
            Side sent;
            Side got;
            try (Socket s = rig.connect(port(7003, p))) {
                sent = writeRandom(s.getOutputStream(), up, 12);
                s.shutdownOutput();
                assertTrue(s.isOutputShutdown());
                got = readAll(s.getInputStream());
            }
            Conn k = KernelPeers.results(srv, Duration.ofSeconds(120)).get(0);
            assertNull(k.error(), k.toString());
            assertEquals(up, k.rxBytes());
            assertEquals(sent.sha256(), k.rxSha256(), "what we sent before our FIN");
            assertEquals(down, got.bytes());
            assertEquals(k.txSha256(), got.sha256(), "what the kernel sent after our FIN");
            rig.finishCapture(); // on the VM path: netem did what the profile says (captures kept on failure)
        }
    }

    /**
     * A kernel client against our server, strict half-close the other way: the kernel sends and
     * shuts its output; we read to end of stream, then answer and close; the kernel reads it all.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void kernelClient_ourServer_kernelHalfCloses_weKeepSending(Impairment p) throws Exception {
        long up = bulk(p) / 2;
        long down = bulk(p) / 2;
        try (Rig rig = new Rig("server", p, 13, true);
             ServerSocket ss = rig.stack.serverSocketFactory().createServerSocket(port(7004, p))) {
            ss.setSoTimeout(30_000);
            Proc cli = KernelPeers.client(rig.lab, rig.ns, rig.stackAddress, port(7004, p), Plan.send(up));
            Side got;
            Side sent;
            try (Socket s = ss.accept()) {
                s.setSoTimeout(SO_TIMEOUT_MS);
                assertPlain(s);
                got = readAll(s.getInputStream());
                sent = writeRandom(s.getOutputStream(), down, 13);
            }
            Conn k = KernelPeers.results(cli, Duration.ofSeconds(120)).get(0);
            assertNull(k.error(), k.toString());
            assertEquals(up, got.bytes());
            assertEquals(k.txSha256(), got.sha256(), "kernel client -> our server");
            assertEquals(down, k.rxBytes());
            assertEquals(sent.sha256(), k.rxSha256(), "our server -> kernel client");
            Figures.record("kernel->opsec upload (our server)", p, up, got.secs(), checkCapture(rig));
        }
    }

    /** Fifty connections at once, each a download checked byte-exact. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void fiftyParallelDownloads(Impairment p) throws Exception {
        int conns = 50;
        long each = Math.max(16 << 10, bulk(p) / 64);
        try (Rig rig = new Rig("parallel", p, 14, false)) {
            Proc srv = KernelPeers.serve(rig.lab, rig.ns, rig.kernelAddress, port(7005, p),
                    Plan.send(each).connections(conns));
            ExecutorService pool = Executors.newFixedThreadPool(conns);
            List<Side> sides = new ArrayList<>();
            try {
                List<Future<Side>> futures = new ArrayList<>();
                for (int i = 0; i < conns; i++) {
                    futures.add(pool.submit(() -> {
                        try (Socket s = rig.connect(port(7005, p))) {
                            return readAll(s.getInputStream());
                        }
                    }));
                }
                for (Future<Side> f : futures) {
                    sides.add(f.get(200, TimeUnit.SECONDS));
                }
            } finally {
                pool.shutdownNow();
            }
            List<Conn> ks = KernelPeers.results(srv, Duration.ofSeconds(120));
            assertEquals(conns, ks.size());
            List<String> sent = ks.stream().peek(k -> assertNull(k.error(), k.toString()))
                    .map(Conn::txSha256).sorted().toList();
            List<String> received = sides.stream().peek(s -> assertEquals(each, s.bytes()))
                    .map(Side::sha256).sorted().toList();
            assertEquals(sent, received, "every connection's bytes arrive intact");
        }
    }

    /** The kernel aborts (RST) mid-transfer: our reader sees "Connection reset", never a clean end. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(240)
    void kernelResetsMidTransfer_ourReaderSeesReset(Impairment p) throws Exception {
        long n = bulk(p);
        long resetAt = n / 4;
        try (Rig rig = new Rig("reset", p, 15, false)) {
            KernelPeers.serve(rig.lab, rig.ns, rig.kernelAddress, port(7006, p), Plan.send(n).resetAfter(resetAt));
            try (Socket s = rig.connect(port(7006, p))) {
                InputStream in = s.getInputStream();
                byte[] buf = new byte[64 << 10];
                long[] total = {0};
                SocketException e = assertThrows(SocketException.class, () -> {
                    int r;
                    while ((r = in.read(buf)) >= 0) {
                        total[0] += r;
                    }
                }, "end of stream after a RST would be silent truncation");
                assertTrue(e.getMessage().toLowerCase().contains("reset"), e.getMessage());
                assertTrue(total[0] <= resetAt, total[0] + " bytes read, but the kernel sent only " + resetAt);
            }
        }
    }

    // ---------------------------------------------------------------- checks

    private static void assertPlain(Socket s) {
        OpsecSocket o = (OpsecSocket) s;
        assertFalse(o.security().isSecured(), "Linux ignores OPSEC, so the connection must run plain: " + o.security());
    }

    /**
     * tshark over what each end sent (the relay's tap, or the VM's NICs' captures merged): nothing
     * malformed, no bad checksum from our side, and the handshake shows what we and Linux negotiated: our SYN proposes OPSEC with MSS, SACK-permitted,
     * timestamps and window scale; Linux's SYN-ACK answers the four and not OPSEC.
     */
    static Tshark.Analysis checkCapture(Rig rig) {
        Path pcap = rig.finishCapture();
        Tshark.Analysis a = Tshark.analyse(pcap, rig.stackAddress);
        assertEquals(0, a.all().malformed(), a.all().summary());
        assertEquals(0, a.from().badIpChecksum() + a.from().badTcpChecksum() + a.from().tcpChecksumFfff(),
                "checksums from our side: " + a.from().summary());
        KernelLab.Result r = KernelLab.exec(List.of("tshark", "-n", "-o", "tcp.desegment_tcp_streams:FALSE",
                "-r", pcap.toString(), "-Y",
                "tcp.flags.syn == 1", "-T", "fields", "-E", "separator=/t", "-e", "ip.src", "-e", "tcp.flags.ack",
                "-e", "tcp.options.mss_val", "-e", "tcp.options.sack_perm", "-e", "tcp.options.timestamp.tsval",
                "-e", "tcp.options.wscale.shift", "-e", "tcp.options.experimental.exid"), Duration.ofSeconds(60));
        assertEquals(0, r.status(), r.output());
        int handshakes = 0;
        for (String line : r.output().split("\n")) {
            String[] c = line.split("\t", -1);
            if (c.length < 7) {
                continue;
            }
            boolean ours = c[0].equals(rig.stackAddress);
            boolean ack = c[1].equals("1") || c[1].equalsIgnoreCase("true");
            for (int i = 2; i <= 5; i++) {
                // Both ends offer all four, so both SYNs and both SYN-ACKs carry them (RFC 7323 §2.2, §3.2).
                assertFalse(c[i].isEmpty(), "MSS, SACK-permitted, TS and WS all present: " + line);
            }
            if (ours && !ack) {
                assertTrue(c[6].contains("0x05ec"), "our SYN proposes OPSEC: " + line);
            } else {
                // Linux never sends OPSEC; our SYN-ACK answers only a proposal, and Linux made none.
                assertTrue(c[6].isEmpty(), (ours ? "our SYN-ACK" : "Linux's SYN or SYN-ACK")
                        + " carries no OPSEC: " + line);
            }
            handshakes++;
        }
        assertTrue(handshakes >= 2, "no handshake in the capture:\n" + r.output());
        return a;
    }

    // ---------------------------------------------------------------- our end's I/O

    static Side readAll(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 << 10];
        long n = 0;
        long t0 = System.nanoTime();
        int r;
        while ((r = in.read(buf)) >= 0) {
            md.update(buf, 0, r);
            n += r;
        }
        return new Side(n, HexFormat.of().formatHex(md.digest()), (System.nanoTime() - t0) / 1e9);
    }

    static Side writeRandom(OutputStream out, long n, long seed) throws IOException {
        MessageDigest md = sha256();
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] buf = new byte[32 << 10];
        long left = n;
        long t0 = System.nanoTime();
        while (left > 0) {
            int len = (int) Math.min(buf.length, left);
            rnd.nextBytes(buf);
            out.write(buf, 0, len);
            md.update(buf, 0, len);
            left -= len;
        }
        out.flush();
        return new Side(n, HexFormat.of().formatHex(md.digest()), (System.nanoTime() - t0) / 1e9);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
