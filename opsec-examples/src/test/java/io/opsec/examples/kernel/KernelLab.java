package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private piece of network for one test: network namespaces holding the Linux kernel's TCP,
 * reached from this JVM through a TUN device that socat bridges to a loopback UDP port, with an
 * {@link ImpairedRelay} on that UDP leg applying a netem profile.
 *
 * <pre>
 *   stack (UdpTunnelLink)          relay (impairment, tap)         socat            namespace opsec-k...
 *   127.0.0.1:stackBind  &lt;--UDP--&gt;  portA | portB  &lt;--UDP--&gt;  TUN fd  ==  tun device 198.18.x.1/24
 *   IPv4 198.18.x.2                                                               kernel peers (python3, socat)
 * </pre>
 *
 * <p>Order that works (and is checked by the probe test): socat creates the TUN device in the root
 * namespace, without an address; the lab moves the device into the test's namespace, disables
 * IPv6 on it (no router solicitations on the tunnel), gives it 198.18.x.1/24 and brings it up
 * there. socat's file descriptor keeps working across the move: a TUN device belongs to its fd,
 * not to a namespace.
 *
 * <p>Everything the lab creates is undone by {@link #close()} in reverse order, and by a shutdown
 * hook if the JVM exits first. Names embed this JVM's pid; {@link #open} deletes namespaces left by
 * JVMs that no longer run, so a crashed run cannot break the next. Traffic stays on loopback and
 * inside the namespaces (198.18.0.0/15, RFC 2544 benchmarking space).
 */
final class KernelLab implements AutoCloseable {
    static final String PREFIX = "opsec-k";
    private static final Pattern OURS = Pattern.compile("^" + PREFIX + "(\\d+)-.*");
    private static final Set<KernelLab> LIVE = ConcurrentHashMap.newKeySet();
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

    static {
        // The lab's children must not outlive a crashed JVM's namespaces: see reapStale().
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (KernelLab lab : LIVE) {
                lab.close();
            }
        }, "kernel-lab-cleanup"));
    }

    private final String id;
    private final Path dir;
    private final Deque<Runnable> undo = new ArrayDeque<>();
    private int counter;
    private boolean closed;

    private KernelLab(String label) {
        this.id = ProcessHandle.current().pid() + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt())
                .substring(0, 6);
        this.dir = Path.of("target", "kernel-lab", label + "-" + id).toAbsolutePath();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Skips the calling test, with a message saying why, on a machine that cannot host the lab at
     * all: not root, no {@code /dev/net/tun}, or no {@code ip}. Everything else the lab needs is
     * installed by {@code .ci/run}, so its absence fails the test rather than hiding it.
     */
    static void assumeAvailable() {
        assumeTrue(isRoot(), "kernel lab skipped: not running as root (needs network namespaces and TUN devices)");
        assumeTrue(Files.exists(Path.of("/dev/net/tun")), "kernel lab skipped: no /dev/net/tun on this machine");
        assumeTrue(onPath("ip"), "kernel lab skipped: no 'ip' (iproute2) on this machine");
        requireTools("socat", "python3", "tcpdump", "tshark");
    }

    /** Fails, naming the missing tool, unless each is on the PATH. */
    static void requireTools(String... tools) {
        for (String tool : tools) {
            if (!onPath(tool)) {
                throw new AssertionError("'" + tool + "' is not installed; .ci/run installs it "
                        + "(apt-get install socat python3 tcpdump tshark)");
            }
        }
    }

    private static boolean isRoot() {
        try {
            return "0".equals(Files.readAllLines(Path.of("/proc/self/status")).stream()
                    .filter(l -> l.startsWith("Uid:")).map(l -> l.split("\\s+")[1]).findFirst().orElse(""));
        } catch (IOException e) {
            return false;
        }
    }

    static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/sbin", tool));
    }

    /** Opens a lab after {@link #assumeAvailable()}; {@code label} names its artefact folder under target/kernel-lab. */
    static KernelLab open(String label) {
        assumeAvailable();
        reapStale();
        KernelLab lab = new KernelLab(label);
        LIVE.add(lab);
        return lab;
    }

    /**
     * Deletes namespaces that earlier, dead JVMs of this harness left behind, and ends their socat
     * bridges and netem VMs: those run in the root namespace, so a JVM killed outright leaves it orphaned
     * (parent pid 1) after its namespace is gone. Labs of live JVMs (other runs on this machine)
     * are left alone.
     */
    private static void reapStale() {
        ProcessHandle.allProcesses()
                .filter(p -> p.parent().map(pp -> pp.pid() == 1).orElse(true))
                .filter(p -> p.info().commandLine().map(c -> c.startsWith("socat ")
                        && c.contains("TUN,tun-type=tun,iff-no-pi,tun-name=ok")).orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
        // Likewise the netem VMs: QEMU runs in the root namespace and its taps end with it.
        ProcessHandle.allProcesses()
                .filter(p -> p.parent().map(pp -> pp.pid() == 1).orElse(true))
                .filter(p -> p.info().commandLine().map(c -> c.startsWith("qemu-system-x86_64 -name "
                        + NetemVm.NAME_PREFIX)).orElse(false))
                .forEach(ProcessHandle::destroyForcibly);
        String list = runQuietly(List.of("ip", "netns", "list"));
        for (String line : list.split("\n")) {
            String name = line.split("\\s+")[0];
            Matcher m = OURS.matcher(name);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(p -> !p.isAlive()).orElse(true)) {
                for (String pid : runQuietly(List.of("ip", "netns", "pids", name)).split("\\s+")) {
                    if (!pid.isBlank()) {
                        ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                }
                runQuietly(List.of("ip", "netns", "del", name));
            }
        }
    }

    /** Where this lab keeps captures and process output. */
    Path dir() {
        return dir;
    }

    /** A name unique to this lab (and this JVM), at most {@code max} characters. */
    String unique(String role, int max) {
        String s = role + (++counter) + id.substring(id.length() - 6);
        return s.length() <= max ? s : s.substring(s.length() - max);
    }

    /** A new network namespace with loopback up and IPv6 off. */
    Namespace namespace(String role) {
        String name = PREFIX + id + "-" + role + (++counter);
        run(List.of("ip", "netns", "add", name));
        undo.push(() -> {
            for (String pid : runQuietly(List.of("ip", "netns", "pids", name)).split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            runQuietly(List.of("ip", "netns", "del", name));
        });
        Namespace ns = new Namespace(name);
        run(ns.ip("link", "set", "lo", "up"));
        run(ns.exec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"));
        return ns;
    }

    /**
     * A tunnel for the stack under test: a TUN device inside {@code ns} at 198.18.{subnet}.1/24,
     * bridged by socat and the impairing relay to loopback UDP. The stack is 198.18.{subnet}.2 and
     * must bind {@link Tunnel#stackBind()} and send to {@link Tunnel#stackPeer()}.
     */
    Tunnel tunnel(Namespace ns, int subnet, Impairment impairment, long seed, int mtu) {
        InetSocketAddress stackBind = new InetSocketAddress(InetAddress.getLoopbackAddress(), freeUdpPort());
        int socatPort = freeUdpPort();
        Path tap = dir.resolve("tunnel" + subnet + "-" + impairment.name() + ".pcap");
        ImpairedRelay relay = ImpairedRelay.start(impairment, seed, stackBind,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), socatPort), tap);
        undo.push(relay::close);
        String dev = unique("okt", 15);
        tunDevice(dev, socatPort, relay.portB());
        String kernel = "198.18." + subnet + ".1";
        configureTun(ns, dev, kernel, mtu);
        return new Tunnel(ns, dev, kernel, "198.18." + subnet + ".2", stackBind,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.portA()), relay, tap);
    }

    /**
     * Two namespaces joined kernel to kernel over the same path the stack uses (TUN, socat, the
     * impairing relay, socat, TUN): {@code a} is 198.18.{subnet}.1 and {@code b} is .2. This is the
     * baseline a stack's figures are compared with.
     */
    TunnelPair tunnelPair(Namespace a, Namespace b, int subnet, Impairment impairment, long seed, int mtu) {
        int socatA = freeUdpPort();
        int socatB = freeUdpPort();
        InetAddress lo = InetAddress.getLoopbackAddress();
        Path tap = dir.resolve("pair" + subnet + "-" + impairment.name() + ".pcap");
        ImpairedRelay relay = ImpairedRelay.start(impairment, seed, new InetSocketAddress(lo, socatA),
                new InetSocketAddress(lo, socatB), tap);
        undo.push(relay::close);
        String devA = unique("oka", 15);
        String devB = unique("okb", 15);
        tunDevice(devA, socatA, relay.portA());
        tunDevice(devB, socatB, relay.portB());
        String addrA = "198.18." + subnet + ".1";
        String addrB = "198.18." + subnet + ".2";
        configureTun(a, devA, addrA, mtu);
        configureTun(b, devB, addrB, mtu);
        return new TunnelPair(a, b, addrA, addrB, relay, tap);
    }

    /** A veth pair between two namespaces, unimpaired (this kernel has no netem): a at .1, b at .2. */
    void veth(Namespace a, Namespace b, int subnet) {
        String va = unique("ova", 15);
        String vb = unique("ovb", 15);
        run(List.of("ip", "link", "add", va, "netns", a.name(), "type", "veth", "peer", "name", vb, "netns", b.name()));
        run(a.ip("addr", "add", "198.18." + subnet + ".1/24", "dev", va));
        run(b.ip("addr", "add", "198.18." + subnet + ".2/24", "dev", vb));
        run(a.ip("link", "set", va, "up"));
        run(b.ip("link", "set", vb, "up"));
    }

    /**
     * Starts socat with a TUN device in the root namespace and waits (bounded) until the device
     * exists and socat's UDP socket is bound. socat runs with {@code -d} (warnings) only: at
     * {@code -d -d} it logs a line per datagram, which costs CPU the transfers need.
     */
    private void tunDevice(String dev, int bindPort, int peerPort) {
        Proc socat = spawn("socat-" + dev, List.of("socat", "-d",
                "TUN,tun-type=tun,iff-no-pi,tun-name=" + dev,
                "UDP-DATAGRAM:127.0.0.1:" + peerPort + ",bind=127.0.0.1:" + bindPort
                        + ",rcvbuf=4194304,sndbuf=4194304"));
        String bound = String.format("0100007F:%04X", bindPort);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!(Files.exists(Path.of("/sys/class/net", dev)) && udpBound(bound))) {
            if (!socat.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("socat did not set up TUN " + dev + " and UDP port " + bindPort + "; "
                        + socat.describe());
            }
            sleepMillis(10);
        }
    }

    /** Whether /proc/net/udp lists a socket bound to {@code hexAddressPort} ("0100007F:1F90"). */
    private static boolean udpBound(String hexAddressPort) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/net/udp"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 1 && f[1].equalsIgnoreCase(hexAddressPort)) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private void configureTun(Namespace ns, String dev, String address, int mtu) {
        run(List.of("ip", "link", "set", dev, "netns", ns.name()));
        run(ns.ip("addr", "add", address + "/24", "dev", dev));
        run(ns.ip("link", "set", dev, "mtu", Integer.toString(mtu), "up"));
    }

    /** Runs {@code step} when the lab closes, before everything registered earlier. */
    void onClose(Runnable step) {
        undo.push(step);
    }

    /** Starts a process whose output goes to this lab's folder; it is ended when the lab closes. */
    Proc spawn(String name, List<String> command) {
        Proc p = Proc.start(name, command, dir);
        undo.push(p::close);
        return p;
    }

    /**
     * Starts tcpdump on an interface inside a namespace and waits until it is really capturing.
     *
     * <p>tcpdump, not dumpcap: dumpcap has no immediate mode, so with TPACKET_V3 the last block of
     * packets is still in the kernel ring when it is stopped and never reaches the file (seen here:
     * a whole handshake missing). tcpdump runs with {@code --immediate-mode -U}: each packet is
     * written as it arrives and SIGTERM flushes. "listening on" is printed once the capture is
     * active; the lab still proves it by sending marker datagrams (UDP to the discard port of
     * {@code markerTarget}, routed out of {@code iface}) until the file holds a packet. Stop it with
     * {@link Proc#close()} before reading the file.
     */
    Proc capture(Namespace ns, String iface, Path file, String markerTarget) {
        Proc p = spawn("tcpdump-" + iface, ns.exec("tcpdump", "-n", "-i", iface, "--immediate-mode", "-U",
                "-s", "0", "-w", file.toString()));
        p.awaitStderr(l -> l.contains("listening on"), Duration.ofSeconds(15));
        try (Proc marker = Proc.start("marker-" + iface, ns.exec("python3", "-c",
                "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                        + "for i in range(100):\n  s.sendto(b'opsec-lab-marker',('" + markerTarget + "',9))\n"
                        + "  time.sleep(0.05)\n"), dir)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (size(file) <= 24) { // a pcap file header alone is 24 bytes
                if (System.nanoTime() > deadline || !p.isAlive()) {
                    throw new AssertionError("tcpdump on " + iface + " captured no marker; " + p.describe());
                }
                sleepMillis(20);
            }
        }
        return p;
    }

    private static long size(Path f) {
        try {
            return Files.exists(f) ? Files.size(f) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** A free UDP port on loopback (bound and released: a small race, retried by the caller's failure). */
    static int freeUdpPort() {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a short command to completion; fails with its output if it exits non-zero. */
    static String run(List<String> command) {
        Result r = exec(command, COMMAND_TIMEOUT);
        if (r.status != 0) {
            throw new AssertionError("command failed (" + r.status + "): " + command + "\n" + r.output);
        }
        return r.output;
    }

    private static String runQuietly(List<String> command) {
        return exec(command, COMMAND_TIMEOUT).output;
    }

    record Result(int status, String output) {}

    static Result exec(List<String> command, Duration timeout) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[][] holder = new byte[1][];
            Thread reader = new Thread(() -> {
                try {
                    holder[0] = p.getInputStream().readAllBytes();
                } catch (IOException e) {
                    holder[0] = new byte[0];
                }
            });
            reader.setDaemon(true);
            reader.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("command timed out after " + timeout + ": " + command);
            }
            reader.join(5000);
            String out = holder[0] == null ? "" : new String(holder[0], StandardCharsets.UTF_8);
            return new Result(p.exitValue(), out);
        } catch (IOException e) {
            return new Result(127, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + command, e);
        }
    }

    /** Undoes everything in reverse order; never throws, safe to call twice. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<Throwable> problems = new ArrayList<>();
        while (!undo.isEmpty()) {
            try {
                undo.pop().run();
            } catch (Throwable t) {
                problems.add(t);
            }
        }
        LIVE.remove(this);
        for (Throwable t : problems) {
            System.err.println("kernel lab " + id + ": cleanup step failed: " + t);
        }
    }

    /** A network namespace made by the lab. */
    record Namespace(String name) {
        /** {@code ip netns exec NAME command...}. */
        List<String> exec(String... command) {
            List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", name));
            c.addAll(List.of(command));
            return c;
        }

        /** {@code ip -n NAME args...}. */
        List<String> ip(String... args) {
            List<String> c = new ArrayList<>(List.of("ip", "-n", name));
            c.addAll(List.of(args));
            return c;
        }
    }

    /**
     * The stack's side of a tunnel into a namespace.
     *
     * @param stackBind  the loopback UDP address the stack's tunnel link binds
     * @param stackPeer  the loopback UDP address the stack's tunnel link sends to (the relay)
     * @param tap        pcap of every packet either side sent, before impairment
     */
    record Tunnel(Namespace ns, String device, String kernelAddress, String stackAddress,
                  InetSocketAddress stackBind, InetSocketAddress stackPeer, ImpairedRelay relay, Path tap) {}

    /** Two namespaces joined kernel to kernel through the same tunnel path and relay. */
    record TunnelPair(Namespace a, Namespace b, String addressA, String addressB, ImpairedRelay relay, Path tap) {}
}
