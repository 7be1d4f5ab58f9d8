package io.opsec.stack.sim;

import io.opsec.stack.OpsecConnection;
import io.opsec.stack.OpsecListener;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.tcp.TcpConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A seeded simulation scenario: builds a {@link SimNet}, runs the applications of a
 * {@link Scenario} over it in virtual time, and checks the invariants of every run:
 * <ul>
 *   <li>byte-exact delivery: the SHA-256 of each direction matches what was sent, and every
 *       byte is checked against the seeded stream as it arrives;</li>
 *   <li>nothing is delivered after the end of stream;</li>
 *   <li>every connection ends, and within {@link #END_BOUND} of its application closing it (or
 *       of the path being cut);</li>
 *   <li>no buffer leaks (the network's allocator counts every byte) and no oversize packet;</li>
 *   <li>no exception escapes the stacks.</li>
 * </ul>
 *
 * <pre>{@code
 * SimResult r = Sim.seed(42).profile(Profile.HOSTILE).scenario(Scenario.BULK_BOTH).bytes(64 * 1024).run();
 * r.assertPassed();   // on failure: the seed, what broke, and the command that replays it
 * }</pre>
 */
public final class Sim {
    /** Bytes per direction per run unless told otherwise. */
    public static final long DEFAULT_BYTES = 64 * 1024;
    /** Connections of the {@link Scenario#MANY} scenario unless told otherwise. */
    public static final int DEFAULT_CONNECTIONS = 32;
    /** How long after its application closes it (or the path is cut) a connection may take to end. */
    public static final long END_BOUND = Duration.ofSeconds(180).toNanos();
    /** How long the path stays cut in {@link Scenario#LINK_FLAP}. */
    public static final long FLAP = Duration.ofSeconds(5).toNanos();
    /** The port servers listen on (connection {@code k} uses {@code PORT + k % 16}). */
    public static final int PORT = 5000;

    private final long seed;
    private Profile profile;
    private Scenario scenario;
    private int hosts = 2;
    private long bytes = DEFAULT_BYTES;
    private int connections = DEFAULT_CONNECTIONS;
    private Path pcapDir;
    private boolean leakTracking;
    private TcpConfig tcp = SimNet.defaultTcp();
    private long deadline = Duration.ofMinutes(30).toNanos();
    private OpsecMode opsec = OpsecMode.OFF;
    private long bandwidth = Profile.BANDWIDTH;
    private Duration latency = Profile.LATENCY;
    private final Map<Integer, io.opsec.stack.link.Middlebox> middleboxes = new LinkedHashMap<>();

    private Sim(long seed) {
        this.seed = seed;
        this.profile = Profile.forSeed(seed);
        this.scenario = Scenario.forSeed(seed);
    }

    /** A run with this seed; its profile and scenario default to the seed's share of the spread. */
    public static Sim seed(long seed) {
        return new Sim(seed);
    }

    public Sim profile(Profile p) {
        this.profile = Objects.requireNonNull(p);
        return this;
    }

    public Sim scenario(Scenario s) {
        this.scenario = Objects.requireNonNull(s);
        return this;
    }

    /** Hosts on the network (default 2); connections go from host k to host k+1. */
    public Sim hosts(int n) {
        if (n < 2) {
            throw new IllegalArgumentException("a scenario needs at least 2 hosts, not " + n);
        }
        this.hosts = n;
        return this;
    }

    /** Bytes each sender sends (per connection, except {@link Scenario#MANY}, where it is the total). */
    public Sim bytes(long n) {
        if (n < 2) {
            throw new IllegalArgumentException("bytes must be at least 2, not " + n);
        }
        this.bytes = n;
        return this;
    }

    /** Connections of the {@link Scenario#MANY} scenario. */
    public Sim connections(int n) {
        if (n < 1 || n > 10_000) {
            throw new IllegalArgumentException("connections must be 1..10000, not " + n);
        }
        this.connections = n;
        return this;
    }

    /** Writes a pcap of every host into {@code dir}. */
    public Sim pcap(Path dir) {
        this.pcapDir = dir;
        return this;
    }

    /** Tracks buffers with Netty's leak detector as well (slow; shows where a leak was made). */
    public Sim leakTracking(boolean on) {
        this.leakTracking = on;
        return this;
    }

    /** TCP settings of every host (default {@link SimNet#defaultTcp()}). */
    public Sim tcp(TcpConfig c) {
        this.tcp = Objects.requireNonNull(c);
        return this;
    }

    /**
     * Every host's OPSEC mode. Default {@link OpsecMode#OFF}: plain TCP whatever security protocols
     * are on the classpath, so a run replays the same in every module. With another mode, hosts
     * negotiate OPSEC with the installed protocols (TLS where opsec-tls is present).
     */
    public Sim opsec(OpsecMode mode) {
        this.opsec = Objects.requireNonNull(mode);
        return this;
    }

    /**
     * Another path under the profile's faults: bandwidth in bits per second and one-way latency
     * (default {@link Profile#BANDWIDTH}, {@link Profile#LATENCY}).
     */
    public Sim path(long bitsPerSecond, Duration oneWayLatency) {
        this.bandwidth = bitsPerSecond;
        this.latency = Objects.requireNonNull(oneWayLatency);
        return this;
    }

    /** A middlebox on the packets host {@code i} sends (see {@link SimNet.Builder#middlebox}). */
    public Sim middlebox(int host, io.opsec.stack.link.Middlebox mb) {
        middleboxes.merge(host, Objects.requireNonNull(mb), io.opsec.stack.link.Middlebox::andThen);
        return this;
    }

    /** The virtual time by which every connection must have ended (default 30 min). */
    public Sim deadline(Duration d) {
        this.deadline = d.toNanos();
        return this;
    }

    /** The command that replays this run. */
    public String replayCommand() {
        StringBuilder b = new StringBuilder("java -jar opsec-examples/target/opsec.jar simulate --seed ").append(seed)
                .append(" --profile ").append(profile.cliName());
        if (scenario != Scenario.forSeed(seed)) {
            b.append(" --scenario ").append(scenario.cliName());
        }
        if (bytes != DEFAULT_BYTES) {
            b.append(" --bytes ").append(bytes);
        }
        if (hosts != 2) {
            b.append(" --hosts ").append(hosts);
        }
        if (scenario == Scenario.MANY && connections != DEFAULT_CONNECTIONS) {
            b.append(" --connections ").append(connections);
        }
        if (bandwidth != Profile.BANDWIDTH || !latency.equals(Profile.LATENCY)) {
            b.append("   (on a ").append(bandwidth).append(" bit/s, ").append(latency.toMillis())
                    .append(" ms path: replay with the test)");
        }
        if (!middleboxes.isEmpty()) {
            b.append("   (with the test's middleboxes: replay with the test)");
        }
        if (opsec != OpsecMode.OFF) {
            b.append(" --opsec ").append(opsec.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (tcp != SimNet.defaultTcp()) {
            b.append("   (with the test's own TCP settings)");
        }
        return b.toString();
    }

    /** Runs the scenario and checks the invariants; never throws for a failed run. */
    public SimResult run() {
        List<String> violations = new ArrayList<>();
        List<Flow> flows = new ArrayList<>();
        SimNet.Builder nb = SimNet.builder(seed).profile(profile).hosts(hosts).tcp(tcp).pcap(pcapDir)
                .leakTracking(leakTracking).impairments(profile.impairments(bandwidth, latency));
        for (int i = 0; i < hosts; i++) {
            nb.mode(i, opsec);
        }
        middleboxes.forEach(nb::middlebox);
        SimNet net = nb.build();
        long[] faultAt = {-1};
        long finishedAt = -1;
        long retransmitted = 0;
        Throwable escaped = null;
        try {
            flows.addAll(plan(net, violations));
            Map<Integer, Map<Integer, List<Flow>>> byServer = new LinkedHashMap<>();
            for (Flow f : flows) {
                if (!f.simultaneousOpen) {
                    byServer.computeIfAbsent(f.server, k -> new LinkedHashMap<>())
                            .computeIfAbsent(f.serverPort, k -> new ArrayList<>()).add(f);
                }
            }
            List<OpsecListener> listeners = new ArrayList<>();
            for (var host : byServer.entrySet()) {
                for (var port : host.getValue().entrySet()) {
                    OpsecListener l = net.host(host.getKey()).listen(port.getKey(), null);
                    listeners.add(l);
                    net.add(new Acceptor(l, port.getValue(), violations));
                }
            }
            flows.forEach(net::add);
            if (scenario == Scenario.LINK_CUT || scenario == Scenario.LINK_FLAP) {
                net.add(new Fault(flows, net, scenario == Scenario.LINK_FLAP, faultAt));
            }
            boolean done = net.runUntil(() -> flows.stream().allMatch(Flow::isFinished), deadline);
            finishedAt = net.now();
            if (!done) {
                violations.add("not every connection ended by " + SimFormat.time(deadline) + " of virtual time");
            }
            for (Flow f : flows) {
                f.check(END_BOUND, faultAt[0]);
            }
            listeners.forEach(OpsecListener::close);
            net.runFor(Duration.ofSeconds(1).toNanos());
            for (int i = 0; i < hosts; i++) {
                retransmitted += net.host(i).stats().segmentsRetransmitted();
            }
            if (net.oversize() > 0) {
                violations.add(net.oversize() + " oversize packets were dropped by the links");
            }
            if (net.unroutable() > 0) {
                violations.add(net.unroutable() + " packets went to no host");
            }
        } catch (Throwable t) {
            escaped = t;
            StringWriter sw = new StringWriter();
            t.printStackTrace(new PrintWriter(sw));
            violations.add("exception escaped at " + SimFormat.time(net.now()) + ": " + sw);
        } finally {
            try {
                net.close();
                if (net.leakedBytes() != 0) {
                    violations.add(net.leakedBytes() + " bytes of buffers were never released"
                            + " (replay with leak tracking to see where they were allocated)");
                }
            } catch (Throwable t) {
                violations.add("closing the network failed: " + t);
            }
        }
        long goodputStart = flows.isEmpty() ? -1 : flows.get(0).clientEnd.settledAt;
        long goodputEnd = flows.isEmpty() ? -1 : flows.get(0).uploadReceivedAt();
        double goodput = scenario == Scenario.BULK_UP && goodputStart >= 0 && goodputEnd > goodputStart
                ? bytes * 8e9 / (goodputEnd - goodputStart) : Double.NaN;
        List<FlowOutcome> outcomes = new ArrayList<>();
        for (Flow f : flows) {
            outcomes.add(new FlowOutcome(f.id, f.clientEnd.status(), f.serverEnd.status(),
                    f.clientEnd.error, f.serverEnd.error, f.clientEnd.in.count(), f.serverEnd.in.count()));
        }
        return new SimResult(seed, profile, scenario, replayCommand(), violations, finishedAt, net.forwarded(),
                goodput, HexFormat.of().formatHex(net.traceDigest()), retransmitted, outcomes, escaped);
    }

    /** The flows of this scenario. */
    private List<Flow> plan(SimNet net, List<String> violations) {
        SplittableRandom r = new SplittableRandom(SimNet.derive(seed, "plan", 0));
        List<Flow> flows = new ArrayList<>();
        long start = r.nextLong(Duration.ofMillis(10).toNanos());
        int clientPort = 40000 + r.nextInt(1000);
        switch (scenario) {
            case BULK_UP -> flows.add(flow(0, 0, 1, bytes, 0, Flow.Ending.CLOSE, start, false, 0, violations));
            case BULK_DOWN -> flows.add(flow(0, 0, 1, 0, bytes, Flow.Ending.CLOSE, start, false, 0, violations));
            case BULK_BOTH, LINK_FLAP -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.CLOSE, start, false, 0,
                    violations));
            case LINK_CUT -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.CUT, start, false, 0, violations));
            case SIMULTANEOUS_OPEN -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.CLOSE, start, true, clientPort,
                    violations));
            case SIMULTANEOUS_CLOSE -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.SIMULTANEOUS_CLOSE, start,
                    false, 0, violations));
            case ABORT -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.CLIENT_ABORT, start, false, 0, violations));
            case HALF_CLOSE -> flows.add(flow(0, 0, 1, bytes, bytes, Flow.Ending.STRICT_HALF_CLOSE, start, false, 0,
                    violations));
            case MANY -> {
                long each = Math.max(1, bytes / connections);
                for (int k = 0; k < connections; k++) {
                    long up = 1 + r.nextLong(each);
                    long down = 1 + r.nextLong(each);
                    long at = r.nextLong(Duration.ofMillis(100).toNanos());
                    flows.add(flow(k, k % hosts, (k + 1) % hosts, up, down, Flow.Ending.CLOSE, at, false, 0, violations));
                }
            }
            default -> throw new IllegalStateException(String.valueOf(scenario));
        }
        return flows;
    }

    private Flow flow(int id, int client, int server, long up, long down, Flow.Ending ending, long at,
                      boolean simultaneousOpen, int clientPort, List<String> violations) {
        return new Flow(seed, id, client, server, PORT + id % 16, clientPort, up, down, ending, at,
                simultaneousOpen, violations);
    }

    /** Hands each settled passive connection to its flow, found by the client's address. */
    private static final class Acceptor implements SimApp {
        private final OpsecListener listener;
        private final List<Flow> flows;
        private final List<String> violations;
        private final Map<InetSocketAddress, Flow> byClient = new HashMap<>();
        private int attached;

        Acceptor(OpsecListener listener, List<Flow> flows, List<String> violations) {
            this.listener = listener;
            this.flows = flows;
            this.violations = violations;
        }

        @Override
        public void step(SimNet net) {
            OpsecConnection c;
            while ((c = listener.poll()) != null) {
                Flow f = byClient.get(c.remoteAddress());
                if (f == null) {
                    index();
                    f = byClient.get(c.remoteAddress());
                }
                if (f == null) {
                    violations.add("port " + listener.port() + " accepted a connection no client opened: " + c);
                    c.abort();
                    continue;
                }
                attached++;
                f.attachServer(c);
            }
        }

        private void index() {
            for (Flow f : flows) {
                if (f.clientEnd.conn != null) {
                    byClient.putIfAbsent(f.clientEnd.conn.localAddress(), f);
                }
            }
        }

        @Override
        public boolean isFinished() {
            return attached == flows.size() || flows.stream().allMatch(Flow::isFinished);
        }
    }

    /**
     * Cuts the path for good as the client's connection settles, or, to heal it after
     * {@link #FLAP}, once the server has a third of the upload.
     */
    private static final class Fault implements SimApp {
        private final List<Flow> flows;
        private final boolean heal;
        private final long[] faultAt;
        private boolean cut;

        Fault(List<Flow> flows, SimNet net, boolean heal, long[] faultAt) {
            this.flows = flows;
            this.heal = heal;
            this.faultAt = faultAt;
        }

        @Override
        public void step(SimNet net) {
            Flow f = flows.get(0);
            // A cut for good comes as the client's handshake completes, before the server has sent a
            // byte: neither end can finish (a later trigger may find everything already in flight).
            boolean due = heal ? f.serverEnd.in.count() >= Math.max(1, f.upBytes / 3)
                    : f.clientEnd.conn != null && f.clientEnd.conn.isSettled();
            if (!cut && due) {
                cut = true;
                faultAt[0] = net.now();
                net.cut();
                if (heal) {
                    net.at(net.now() + FLAP, net::heal);
                    faultAt[0] = -1; // a healed cut is not the end of anything
                }
            }
        }

        @Override
        public boolean isFinished() {
            return cut;
        }
    }
}
