package io.opsec.examples.kernel;

import io.opsec.stack.link.MacAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small Linux VM whose only job is to put real {@code tc netem} in the lab's path: Debian's
 * kernel, booted by QEMU from an initramfs assembled at run time ({@code kernel/netem-vm/build.sh}:
 * busybox-static, the host's {@code tc}, {@code ip} and {@code ethtool}, the modules for virtio-net, the bridge and
 * sch_netem), with its NICs bridged together and a netem qdisc on the egress of each, so every
 * frame crossing the VM, either way, passes exactly one netem.
 *
 * <pre>
 *   end A (a tap in a namespace, or UDP on loopback)  ==  eth0 [netem] \
 *                                                                      br0
 *   end B (a tap in a namespace, or UDP on loopback)  ==  eth1 [netem] /
 * </pre>
 *
 * <p>The VM boots once per test class; {@link #apply} switches the profile with {@code tc qdisc
 * change} over the serial console (QEMU's stdio) and checks what the kernel reports back.
 * {@link #capture} adds QEMU {@code filter-dump} objects over QMP for one scenario: each NIC's
 * pcap holds what its end sent (before netem) and what was delivered to it (after), which
 * {@link NetemLedger} turns into the capture tshark reads and into measured loss, duplication,
 * corruption, reordering and delay per direction.
 *
 * <p>The VM runs under KVM where the CPU has hardware virtualization, and under QEMU's TCG
 * otherwise (see {@link #accelerator()}); the VM is ended with the lab.
 */
final class NetemVm implements AutoCloseable {
    /** Marks the lab's QEMU processes, so orphans of a killed JVM can be found ({@link KernelLab}). */
    static final String NAME_PREFIX = "opsec-netem-";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

    /** One NIC of the VM, seen from outside; {@code guestMac} is the VM's own side of it. */
    sealed interface Port permits Udp, Tap {
        MacAddress guestMac();
    }

    /**
     * A NIC whose frames travel in UDP datagrams on loopback (QEMU's {@code -netdev socket,udp=}):
     * QEMU binds {@code vmPort} and sends to {@code endPort}.
     */
    record Udp(int vmPort, int endPort, MacAddress guestMac) implements Port {}

    /** A NIC backed by a tap device QEMU creates in the root namespace, to be moved into a lab namespace. */
    record Tap(String device, MacAddress guestMac) implements Port {}

    /** What {@code tc -s qdisc show} says of one NIC's netem. */
    record QdiscStats(String device, long bytes, long packets, long dropped) {
        QdiscStats minus(QdiscStats before) {
            return new QdiscStats(device, bytes - before.bytes, packets - before.packets, dropped - before.dropped);
        }
    }

    private final KernelLab lab;
    private final List<Port> ports;
    private final String accelerator;
    private final Proc qemu;
    private final Qmp qmp;
    private final Path qmpDir;
    private int commands;
    private int captures;

    private NetemVm(KernelLab lab, List<Port> ports, String accelerator, Proc qemu, Qmp qmp, Path qmpDir) {
        this.lab = lab;
        this.ports = List.copyOf(ports);
        this.accelerator = accelerator;
        this.qemu = qemu;
        this.qmp = qmp;
        this.qmpDir = qmpDir;
    }

    // ---------------------------------------------------------------- availability

    /**
     * A lab setting: the system property {@code property}, else the environment variable
     * {@code env} (so that {@code .ci/run} can demand the VM while running the README's plain
     * {@code mvn -B verify}), else {@code fallback}.
     */
    static String setting(String property, String env, String fallback) {
        String p = System.getProperty(property, "").trim();
        if (!p.isEmpty()) {
            return p;
        }
        String e = System.getenv(env);
        return e == null || e.isBlank() ? fallback : e.trim();
    }

    /**
     * Where the kernel package is cached: {@code -Dkernel.vm.cache} or {@code OPSEC_KERNEL_VM_CACHE},
     * else ~/.cache/opsec-stack/netem-vm.
     */
    static Path cacheDir() {
        String p = setting("kernel.vm.cache", "OPSEC_KERNEL_VM_CACHE", "");
        return p.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache", "opsec-stack", "netem-vm") : Path.of(p);
    }

    /**
     * Whether the lab's impaired path goes through this VM. {@code -Dkernel.netem=vm} (or
     * {@code OPSEC_KERNEL_NETEM=vm}, which {@code .ci/run} exports) demands it and fails, saying why, if it cannot run;
     * {@code -Dkernel.netem=relay} asks for the userspace relay; by default the VM is used where it
     * can run and the relay otherwise, with a message on stdout that the netem is emulated.
     */
    static boolean wanted() {
        String mode = setting("kernel.netem", "OPSEC_KERNEL_NETEM", "auto");
        if (mode.equals("relay")) {
            System.out.println("kernel lab: impairment by the userspace relay (-Dkernel.netem=relay), not by netem");
            return false;
        }
        String why = unavailableReason();
        if (why == null) {
            return true;
        }
        if (mode.equals("vm")) {
            throw new AssertionError("kernel lab: kernel.netem=vm (property or OPSEC_KERNEL_NETEM), but the netem VM cannot run: " + why);
        }
        System.out.println("kernel lab: NO REAL NETEM: the netem VM cannot run (" + why
                + "); the userspace relay emulates netem instead");
        return false;
    }

    /** Why the VM cannot run on this machine, or {@code null} when it can. */
    static String unavailableReason() {
        for (String tool : List.of("qemu-system-x86_64", "busybox", "tc", "ip", "ethtool")) {
            if (!KernelLab.onPath(tool)) {
                return "no '" + tool + "' (.ci/run installs qemu-system-x86, busybox-static, iproute2, ethtool)";
            }
        }
        try (var files = Files.list(cacheDir())) {
            if (files.noneMatch(f -> f.getFileName().toString().matches("linux-image-.*-amd64_.*\\.deb"))) {
                return "no kernel package in " + cacheDir() + " (.ci/run fetches it)";
            }
        } catch (IOException e) {
            return "no kernel package cache " + cacheDir() + " (.ci/run fetches it)";
        }
        return null;
    }

    /**
     * {@code kvm} where {@code /dev/kvm} is there and the CPU has VT-x or AMD-V; {@code tcg}
     * otherwise, or when {@code -Dkernel.vm.accel=tcg}. A {@code /dev/kvm} alone is not enough:
     * a machine that is itself a PVM guest offers {@code kvm_pvm}, which runs only guest kernels
     * built for PVM (Debian's hangs in its decompressor, at about a million instructions a second).
     */
    static String accelerator() {
        String forced = System.getProperty("kernel.vm.accel", "auto").trim();
        if (forced.equals("kvm") || forced.equals("tcg")) {
            return forced;
        }
        return kvmReason() == null ? "kvm" : "tcg";
    }

    /** Why KVM is not used, or {@code null} when it is usable. */
    static String kvmReason() {
        if (!Files.isReadable(Path.of("/dev/kvm")) || !Files.isWritable(Path.of("/dev/kvm"))) {
            return "no usable /dev/kvm";
        }
        try {
            String cpu = Files.readString(Path.of("/proc/cpuinfo"));
            if (!Pattern.compile("^flags\\s*:.*\\b(vmx|svm)\\b", Pattern.MULTILINE).matcher(cpu).find()) {
                return Files.exists(Path.of("/sys/module/kvm_pvm"))
                        ? "/dev/kvm is kvm_pvm (no VT-x/AMD-V on this CPU): it runs only PVM-enabled guest kernels"
                        : "the CPU has no VT-x/AMD-V flag";
            }
        } catch (IOException e) {
            return "cannot read /proc/cpuinfo";
        }
        return null;
    }

    // ---------------------------------------------------------------- boot

    /**
     * Builds the initramfs (into the lab's folder; the kernel package must be cached already),
     * boots the VM with {@code ports} in order as eth0, eth1..., waits until its bridge forwards,
     * and registers it with the lab for cleanup.
     */
    static NetemVm boot(KernelLab lab, List<Port> ports) {
        Path vmDir = lab.dir().resolve("vm");
        Map<String, String> built = build(lab, vmDir);
        String accel = accelerator();
        String why = kvmReason();
        System.out.println("netem VM: Debian kernel " + built.get("version") + " under " + accel
                + (accel.equals("tcg") && why != null ? " (" + why + ")" : ""));
        try {
            return start(lab, ports, built, vmDir, accel);
        } catch (AssertionError e) {
            if (!accel.equals("kvm") || System.getProperty("kernel.vm.accel", "auto").trim().equals("kvm")) {
                throw e;
            }
            // Chosen, not demanded: a KVM that cannot boot this kernel (as kvm_pvm could not) is no
            // reason to lose real netem.
            System.out.println("netem VM: did not boot under KVM (" + e.getMessage() + "); booting under TCG");
            return start(lab, ports, built, vmDir, "tcg");
        }
    }

    private static NetemVm start(KernelLab lab, List<Port> ports, Map<String, String> built, Path vmDir, String accel) {
        Path qmpDir;
        try {
            // A unix socket path must stay under 108 bytes, so not in target/.
            qmpDir = Files.createTempDirectory("okv" + ProcessHandle.current().pid() + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64",
                "-name", NAME_PREFIX + lab.dir().getFileName(),
                "-accel", accel, "-m", "256", "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", built.get("kernel"), "-initrd", built.get("initramfs"),
                "-append", "console=ttyS0 quiet loglevel=1 panic=-1 mitigations=off",
                "-chardev", "stdio,id=con,signal=off,logfile=" + vmDir.resolve("console.log"),
                "-serial", "chardev:con",
                "-qmp", "unix:" + qmpDir.resolve("qmp") + ",server=on,wait=off"));
        if (accel.equals("kvm")) {
            cmd.addAll(List.of("-cpu", "host"));
        }
        for (int i = 0; i < ports.size(); i++) {
            Port p = ports.get(i);
            String netdev;
            if (p instanceof Udp u) {
                netdev = "socket,id=n" + i + ",udp=127.0.0.1:" + u.endPort() + ",localaddr=127.0.0.1:" + u.vmPort();
            } else {
                // No virtio-net header: the namespace's kernel segments and checksums every frame
                // itself, so netem sees wire-sized packets, never a 64 KiB GSO burst.
                netdev = "tap,id=n" + i + ",ifname=" + ((Tap) p).device() + ",script=no,downscript=no,vnet_hdr=off";
            }
            cmd.addAll(List.of("-netdev", netdev, "-device", "virtio-net-pci,netdev=n" + i + ",mac=" + p.guestMac()
                    + ",addr=0x" + Integer.toHexString(3 + i)));
        }
        Proc qemu = Proc.startWithInput("qemu-" + accel, cmd, lab.dir());
        lab.onClose(() -> {
            qemu.close();
            deleteTree(qmpDir);
        });
        Duration bootLimit = Duration.ofSeconds(accel.equals("kvm") ? 60 : 180);
        long t0 = System.nanoTime();
        String ready;
        try {
            ready = qemu.awaitStdout(l -> l.startsWith("@@ready") || l.startsWith("@@fatal"), bootLimit);
        } catch (AssertionError e) {
            qemu.close();
            throw e;
        }
        if (!ready.startsWith("@@ready")) {
            qemu.close();
            throw new AssertionError("netem VM failed to start: " + ready + "; console in " + vmDir);
        }
        System.out.printf(Locale.ROOT, "netem VM: ready in %.1f s: %s%n", (System.nanoTime() - t0) / 1e9, ready);
        Qmp qmp = Qmp.connect(qmpDir.resolve("qmp"), Duration.ofSeconds(20));
        lab.onClose(qmp::close);
        NetemVm vm = new NetemVm(lab, ports, accel, qemu, qmp, qmpDir);
        for (int i = 0; i < ports.size(); i++) {
            String mac = String.join("", vm.run("cat /sys/class/net/eth" + i + "/address"));
            if (!mac.trim().equals(ports.get(i).guestMac().toString())) {
                throw new AssertionError("eth" + i + " is " + mac + ", expected " + ports.get(i).guestMac());
            }
            // A merged (GRO) or segmentation-offloaded packet would meet netem as one: per-frame
            // rates need every offload that merges or splits off.
            List<String> features = vm.run("ethtool -k eth" + i);
            for (String f : List.of("generic-receive-offload", "large-receive-offload", "tcp-segmentation-offload")) {
                if (features.stream().noneMatch(l -> l.startsWith(f + ": off"))) {
                    throw new AssertionError("eth" + i + " has " + f + " on: " + features);
                }
            }
        }
        return vm;
    }

    private static Map<String, String> build(KernelLab lab, Path vmDir) {
        try {
            Files.createDirectories(vmDir);
            for (String f : List.of("build.sh", "init")) {
                try (InputStream in = NetemVm.class.getResourceAsStream("/kernel/netem-vm/" + f)) {
                    if (in == null) {
                        throw new IllegalStateException("test resource kernel/netem-vm/" + f + " is missing");
                    }
                    Files.copy(in, vmDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        KernelLab.Result r = KernelLab.exec(List.of("bash", vmDir.resolve("build.sh").toString(),
                "--cache", cacheDir().toString(), "--out", vmDir.toString()), Duration.ofMinutes(3));
        if (r.status() != 0) {
            throw new AssertionError("building the netem VM failed (" + r.status() + "):\n" + r.output());
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : r.output().split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                out.put(line.substring(0, eq), line.substring(eq + 1).trim());
            }
        }
        if (!out.containsKey("kernel") || !out.containsKey("initramfs")) {
            throw new AssertionError("build.sh printed no kernel and initramfs:\n" + r.output());
        }
        return out;
    }

    /**
     * Moves a tap NIC's device into {@code ns} and configures it there: {@code mac} (the end's own
     * address), {@code address}/24, MTU 1500, up. Waits (bounded) for QEMU to have created it.
     */
    void attach(Tap port, KernelLab.Namespace ns, MacAddress mac, String address) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(Path.of("/sys/class/net", port.device()))) {
            if (System.nanoTime() > deadline || !qemu.isAlive()) {
                throw new AssertionError("QEMU made no tap " + port.device() + "; " + qemu.describe());
            }
            KernelLab.sleepMillis(10);
        }
        KernelLab.run(List.of("ip", "link", "set", port.device(), "netns", ns.name()));
        KernelLab.run(ns.ip("link", "set", port.device(), "address", mac.toString(), "mtu", "1500"));
        KernelLab.run(ns.ip("addr", "add", address + "/24", "dev", port.device()));
        KernelLab.run(ns.ip("link", "set", port.device(), "up"));
    }

    String accel() {
        return accelerator;
    }

    List<Port> ports() {
        return ports;
    }

    // ---------------------------------------------------------------- control

    /**
     * Runs a shell command in the VM over the serial console and returns its output lines; fails
     * with the output if it exits non-zero.
     */
    synchronized List<String> run(String command) {
        int id = ++commands;
        int from = qemu.stdoutLines();
        qemu.send(id + " " + command);
        String end = "@@end " + id + " ";
        List<String> lines = new ArrayList<>(qemu.awaitStdout(from, l -> l.startsWith(end) || l.startsWith("@@fatal"),
                COMMAND_TIMEOUT));
        String last = lines.remove(lines.size() - 1);
        if (!last.equals(end + "0")) {
            throw new AssertionError("netem VM: '" + command + "' ended with " + last + ":\n  " + String.join("\n  ", lines));
        }
        return lines;
    }

    /**
     * Puts {@code profile} on every NIC with {@code tc qdisc change}, then reads the qdiscs back
     * and fails unless each shows exactly the profile. Every parameter is given, zeros included:
     * {@code change} keeps a reorder or corrupt setting it is not told about (seen on 6.1).
     */
    void apply(Impairment profile) {
        List<Impairment> each = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) {
            each.add(impairs(i) ? profile : Impairment.CLEAN);
        }
        apply(each);
    }

    /**
     * Whether netem impairs what leaves NIC {@code port}: every NIC unless {@code -Dkernel.netem.ports}
     * lists some ("0" in {@code KernelStackTest}: only what the kernel sends, as netem on the
     * namespace's own interface would; for a manual comparison, see docs/interop.md).
     */
    static boolean impairs(int port) {
        String only = System.getProperty("kernel.netem.ports", "").trim();
        return only.isEmpty() || List.of(only.split("\\s*,\\s*")).contains(Integer.toString(port));
    }

    /** The profile netem applies on NIC {@code port}'s egress when the lab asks for {@code profile}. */
    static Impairment on(int port, Impairment profile) {
        return impairs(port) ? profile : Impairment.CLEAN;
    }

    /** Puts {@code each.get(i)} on NIC i, as {@link #apply(Impairment)}. */
    void apply(List<Impairment> each) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ports.size(); i++) {
            sb.append("tc qdisc change dev eth").append(i).append(" root netem ").append(each.get(i).netemChangeArgs())
                    .append(" && ");
        }
        sb.append("tc qdisc show");
        int seen = 0;
        for (String line : run(sb.toString())) {
            Matcher m = Pattern.compile("qdisc netem \\S+ dev eth(\\d+) ").matcher(line);
            if (m.find()) {
                Impairment want = each.get(Integer.parseInt(m.group(1)));
                String problem = mismatch(want, line);
                if (problem != null) {
                    throw new AssertionError("netem on eth" + m.group(1) + " is not " + want + ": " + problem + " in '"
                            + line + "'");
                }
                seen++;
            }
        }
        if (seen != ports.size()) {
            throw new AssertionError("netem VM shows " + seen + " netem qdiscs for " + ports.size() + " NICs");
        }
    }

    /** Compares one {@code tc qdisc show} line with a profile; a description of the difference, or null. */
    static String mismatch(Impairment p, String line) {
        double[] delay = delayMs(line);
        List<String> problems = new ArrayList<>();
        check(problems, "delay", p.delayMs(), delay[0]);
        check(problems, "jitter", p.jitterMs(), delay[1]);
        check(problems, "loss", p.loss() * 100, percent(line, "loss"));
        check(problems, "duplicate", p.duplicate() * 100, percent(line, "duplicate"));
        check(problems, "reorder", p.reorder() * 100, percent(line, "reorder"));
        check(problems, "corrupt", p.corrupt() * 100, percent(line, "corrupt"));
        return problems.isEmpty() ? null : String.join(", ", problems);
    }

    private static void check(List<String> problems, String what, double want, double got) {
        if (Math.abs(want - got) > 1e-6) {
            problems.add(what + " " + got + " instead of " + want);
        }
    }

    private static double percent(String line, String key) {
        Matcher m = Pattern.compile("\\b" + key + " (\\d+(?:\\.\\d+)?)%").matcher(line);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static final Pattern DELAY = Pattern.compile("\\bdelay (\\d+(?:\\.\\d+)?)(us|ms|s)(?:\\s+(\\d+(?:\\.\\d+)?)(us|ms|s))?");

    private static double[] delayMs(String line) {
        Matcher m = DELAY.matcher(line);
        if (!m.find()) {
            return new double[] {0, 0};
        }
        return new double[] {ms(m.group(1), m.group(2)), m.group(3) == null ? 0 : ms(m.group(3), m.group(4))};
    }

    private static double ms(String value, String unit) {
        double v = Double.parseDouble(value);
        return switch (unit) {
            case "us" -> v / 1000;
            case "s" -> v * 1000;
            default -> v;
        };
    }

    private static final Pattern SENT = Pattern.compile("Sent (\\d+) bytes (\\d+) pkt \\(dropped (\\d+),");

    /** Each NIC's netem counters, in port order. */
    List<QdiscStats> qdiscStats() {
        List<QdiscStats> out = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) {
            String dev = "eth" + i;
            Matcher m = SENT.matcher(String.join(" ", run("tc -s qdisc show dev " + dev)));
            if (!m.find()) {
                throw new AssertionError("no netem counters for " + dev);
            }
            out.add(new QdiscStats(dev, Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    Long.parseLong(m.group(3))));
        }
        return out;
    }

    // ---------------------------------------------------------------- capture

    /** A running capture: one pcap per NIC, in port order. */
    final class Capture implements AutoCloseable {
        private final List<String> ids;
        private final List<Path> files;
        private boolean stopped;

        private Capture(List<String> ids, List<Path> files) {
            this.ids = ids;
            this.files = files;
        }

        List<Path> files() {
            return files;
        }

        /**
         * Waits until what was sent under {@code profile} has crossed the VM (its delay and jitter,
         * and 100 ms of queue), then {@link #close()}s: otherwise frames still in netem's delay
         * line when the dumps stop would count as lost (seen: the last 130 ACKs of a delay50 upload).
         */
        void drainAndClose(Impairment profile) {
            if (!stopped) {
                KernelLab.sleepMillis(profile.delayMs() + profile.jitterMs() + 100L);
            }
            close();
        }

        /** Removes the dump filters; QEMU closes the files, which are then complete. Idempotent. */
        @Override
        public void close() {
            if (stopped) {
                return;
            }
            stopped = true;
            for (String id : ids) {
                qmp.execute("{\"execute\":\"object-del\",\"arguments\":{\"id\":\"" + id + "\"}}");
            }
        }
    }

    /**
     * Starts a QEMU {@code filter-dump} on every NIC (both directions: what its end sent into the
     * VM and what the VM delivered to it), writing {@code dir/prefix-ethN.pcap}.
     */
    Capture capture(Path dir, String prefix) {
        int k = ++captures;
        List<String> ids = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int i = 0; i < ports.size(); i++) {
            String id = "dump" + k + "n" + i;
            Path file = dir.resolve(prefix + "-eth" + i + ".pcap").toAbsolutePath();
            qmp.execute("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"filter-dump\",\"id\":\"" + id
                    + "\",\"netdev\":\"n" + i + "\",\"queue\":\"all\",\"file\":\"" + file + "\"}}");
            ids.add(id);
            files.add(file);
        }
        Capture c = new Capture(ids, files);
        lab.onClose(c::close);
        return c;
    }

    @Override
    public void close() {
        qmp.close();
        qemu.close();
        deleteTree(qmpDir);
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // already gone
        }
    }

    /** A minimal QMP client: one JSON command a line, waiting for its "return" (events are skipped). */
    private static final class Qmp implements AutoCloseable {
        private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(20);
        private final SocketChannel channel;
        private final Selector selector;
        private final StringBuilder pending = new StringBuilder();

        private Qmp(SocketChannel channel) throws IOException {
            this.channel = channel;
            channel.configureBlocking(false);
            this.selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
        }

        static Qmp connect(Path socket, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                try {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.connect(UnixDomainSocketAddress.of(socket));
                        Qmp q = new Qmp(ch);
                        q.reply(); // the greeting
                        q.execute("{\"execute\":\"qmp_capabilities\"}");
                        return q;
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        throw new AssertionError("no QMP on " + socket + ": " + e);
                    }
                    KernelLab.sleepMillis(20);
                }
            }
        }

        synchronized String execute(String json) {
            try {
                ByteBuffer out = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
                while (out.hasRemaining()) {
                    channel.write(out); // a few hundred bytes into an empty socket buffer
                }
                String r = reply();
                if (!r.contains("\"return\"")) {
                    throw new AssertionError("QMP " + json + " -> " + r);
                }
                return r;
            } catch (IOException e) {
                throw new UncheckedIOException("QMP " + json, e);
            }
        }

        /** The next line that is not an event: the greeting, a return or an error; fails after {@link #REPLY_TIMEOUT}. */
        private String reply() throws IOException {
            ByteBuffer buf = ByteBuffer.allocate(4096);
            long deadline = System.nanoTime() + REPLY_TIMEOUT.toNanos();
            while (true) {
                int nl;
                while ((nl = pending.indexOf("\n")) >= 0) {
                    String line = pending.substring(0, nl).trim();
                    pending.delete(0, nl + 1);
                    if (!line.isEmpty() && !line.startsWith("{\"timestamp\"") && !line.contains("\"event\"")) {
                        return line;
                    }
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    throw new IOException("no QMP reply within " + REPLY_TIMEOUT);
                }
                selector.select(left);
                selector.selectedKeys().clear();
                buf.clear();
                if (channel.read(buf) < 0) {
                    throw new IOException("QMP closed");
                }
                buf.flip();
                pending.append(StandardCharsets.UTF_8.decode(buf));
            }
        }

        @Override
        public synchronized void close() {
            try {
                selector.close();
                channel.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
