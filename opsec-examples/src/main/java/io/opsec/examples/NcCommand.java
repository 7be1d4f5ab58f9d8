package io.opsec.examples;

import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.Link;
import io.opsec.stack.link.PcapTap;
import io.opsec.stack.link.UdpTunnelLink;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.tls.TlsSecurityProtocol;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code opsec nc}: netcat over an {@link OpsecStack} whose link is a {@link UdpTunnelLink}, so
 * two processes (or a process and a kernel TUN device bridged by socat) talk TCP with OPSEC.
 *
 * <p>stdin goes to the connection and the connection to stdout. At the end of stdin the command
 * half-closes (TLS close_notify, then FIN) and keeps reading until the peer ends its side. Once a
 * connection is established it prints one status line on stderr, {@code opsec: secured ...} or
 * {@code opsec: plaintext (...)}. With {@code -l} it accepts one connection; with {@code -k} one
 * after another until killed (stdin is shared: what one connection did not take goes to the next,
 * and once stdin has ended every later connection is half-closed at once).
 *
 * <p>Public only so that tests in other packages can check {@link #plan()}.
 */
@Command(name = "nc", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Netcat over the userspace stack, through a UDP tunnel (one IPv4 packet per datagram).",
                "stdin goes to the connection, the connection to stdout; at the end of stdin the",
                "output is half-closed and reading goes on until the peer closes. Once connected,",
                "one line on stderr says 'opsec: secured ...' or 'opsec: plaintext (...)'."},
        footer = {"", "Example, in two shells:",
                "  opsec nc -l --ip 198.18.0.2 --udp-bind 127.0.0.1:7002 \\",
                "      --udp-peer 127.0.0.1:7001 7",
                "  opsec nc --ip 198.18.0.1 --udp-bind 127.0.0.1:7001 \\",
                "      --udp-peer 127.0.0.1:7002 198.18.0.2 7",
                "Exit status: 0 when done, 1 when a connection failed, 2 for bad arguments."})
public final class NcCommand implements Callable<Integer> {
    /** How long the stack may take, after the end, to deliver what is still queued. */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(60);
    static final int MIN_MTU = 576;
    static final int MAX_MTU = 65535;
    /** The largest UDP payload over IPv4 (65535 - 20 - 8): the most one tunnel datagram can carry. */
    static final int MAX_TUNNEL_MTU = 65507;

    /** The {@code --opsec} values. */
    enum Opsec {
        off(OpsecMode.OFF), on(OpsecMode.OPPORTUNISTIC), require(OpsecMode.REQUIRED);

        final OpsecMode mode;

        Opsec(OpsecMode mode) {
            this.mode = mode;
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = {"-l", "--listen"}, description = "Listen for a connection on PORT instead of connecting.")
    boolean listen;

    @Option(names = {"-k", "--keep-listening"},
            description = "With -l: after a connection ends, accept the next one, until killed.")
    boolean keep;

    @Option(names = {"-v", "--verbose"}, description = "Also say on stderr when listening, and where.")
    boolean verbose;

    @Option(names = "--ip", required = true, paramLabel = "ADDR",
            description = "This stack's IPv4 address inside the tunnel, such as 198.18.0.1.")
    String ip;

    @Option(names = "--udp-bind", required = true, paramLabel = "HOST:PORT",
            description = "The local UDP address the tunnel receives on.")
    String udpBind;

    @Option(names = "--udp-peer", required = true, paramLabel = "HOST:PORT",
            description = "The UDP address the tunnel sends to (and the only one it accepts packets from).")
    String udpPeer;

    @Option(names = "--opsec", paramLabel = "off|on|require", defaultValue = "on",
            description = "off: plain TCP; on: opportunistic (default); require: fail unless secured.")
    Opsec opsec;

    @Option(names = "--pcap", paramLabel = "FILE",
            description = "Capture every packet the stack sends and receives to FILE (classic pcap, raw IPv4).")
    Path pcap;

    @Option(names = "--keylog", paramLabel = "FILE",
            description = "Append each TLS session's secrets to FILE (NSS key log, for Wireshark). Debugging only.")
    Path keylog;

    @Option(names = "--mtu", paramLabel = "N", defaultValue = "1500",
            description = "IP MTU of the tunnel, " + MIN_MTU + " to " + MAX_TUNNEL_MTU + ". Default: ${DEFAULT-VALUE}.")
    int mtu;

    @Option(names = "--connect-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Give up connecting after this long. Default: ${DEFAULT-VALUE}.")
    int connectTimeoutSeconds;

    @Parameters(arity = "0..2", paramLabel = "[HOST] PORT", hideParamSyntax = true,
            description = "Connect to HOST (an IPv4 address in the tunnel) on PORT; with -l, listen on PORT.")
    List<String> positionals = new ArrayList<>();

    /** The tunnel's bound UDP address (the real port when --udp-bind gave port 0). */
    private InetSocketAddress tunnelLocal;

    /** The connection being relayed, for the shutdown hook. */
    private volatile Socket current;

    /** Set when the process is being killed: failures that follow are its doing, not the peer's. */
    private volatile boolean stopping;

    /** Where received bytes go and sent bytes come from; the process's own unless a test sets them. */
    OutputStream stdout = new FileOutputStream(FileDescriptor.out);
    InputStream stdin = System.in;

    /** The validated arguments. */
    public record Plan(boolean listen, boolean keep, boolean verbose, String ip, InetSocketAddress udpBind, InetSocketAddress udpPeer,
                OpsecMode mode, Path pcap, Path keylog, int mtu, int connectTimeoutMillis, String host, int port) {
    }

    /**
     * Checks the arguments as a whole.
     *
     * @throws ParameterException for anything wrong (exit status 2, with the usage hint)
     */
    public Plan plan() {
        if (keep && !listen) {
            throw usage("-k needs -l: only a listener can accept one connection after another");
        }
        if (positionals.isEmpty()) {
            throw usage("missing PORT");
        }
        if (positionals.size() > 2) {
            throw usage("too many arguments: '" + String.join(" ", positionals) + "' (expected [HOST] PORT)");
        }
        String host = positionals.size() == 2 ? positionals.get(0) : null;
        String portText = positionals.get(positionals.size() - 1);
        if (!listen && host == null) {
            throw usage("missing HOST: give the address to connect to before PORT (or -l to listen)");
        }
        int port = port(portText, "PORT", 1);
        checkIpv4(ip, "--ip");
        if (host != null) {
            checkIpv4(host, "HOST");
            if (listen && !host.equals(ip) && !host.equals("0.0.0.0")) {
                throw usage("cannot listen on " + host + ": this stack's address is " + ip);
            }
        }
        if (mtu < MIN_MTU || mtu > MAX_MTU) {
            throw usage("--mtu must be in " + MIN_MTU + ".." + MAX_MTU + ", not " + mtu);
        }
        if (mtu > MAX_TUNNEL_MTU) {
            throw usage("--mtu " + mtu + " does not fit in one UDP datagram: at most " + MAX_TUNNEL_MTU);
        }
        if (connectTimeoutSeconds < 1) {
            throw usage("--connect-timeout must be at least 1 second, not " + connectTimeoutSeconds);
        }
        InetSocketAddress bind = udpAddress(udpBind, "--udp-bind", 0);
        InetSocketAddress peer = udpAddress(udpPeer, "--udp-peer", 1);
        return new Plan(listen, keep, verbose, ip, bind, peer, opsec.mode, pcap, keylog, mtu,
                (int) TimeUnit.SECONDS.toMillis(connectTimeoutSeconds), host, port);
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private void checkIpv4(String text, String what) {
        try {
            Ipv4Address.parse(text);
        } catch (IllegalArgumentException e) {
            throw usage(what + " must be a dotted IPv4 address such as 198.18.0.1, not '" + text + "'");
        }
    }

    private int port(String text, String what, int min) {
        int p;
        try {
            p = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < min || p > 65535) {
            throw usage(what + " must be a number in " + min + "..65535, not '" + text + "'");
        }
        return p;
    }

    private InetSocketAddress udpAddress(String text, String what, int minPort) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw usage(what + " must be HOST:PORT, such as 127.0.0.1:7001, not '" + text + "'");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int p = port(text.substring(colon + 1), what + " port", minPort);
        try {
            return new InetSocketAddress(InetAddress.getByName(host), p);
        } catch (UnknownHostException e) {
            throw usage(what + ": unknown host '" + host + "'");
        }
    }

    @Override
    public Integer call() throws Exception {
        Plan plan = plan();
        PrintWriter err = spec.commandLine().getErr();
        Link link;
        try {
            UdpTunnelLink tunnel = UdpTunnelLink.builder().local(plan.udpBind()).peer(plan.udpPeer()).mtu(plan.mtu())
                    .build();
            tunnelLocal = tunnel.localAddress();
            link = tunnel;
        } catch (IOException e) {
            throw new IOException("cannot bind UDP " + plan.udpBind() + ": " + e.getMessage(), e);
        }
        if (plan.pcap() != null) {
            try {
                // The stack's clock is System.nanoTime(); map it onto the wall clock once.
                long offset = System.currentTimeMillis() * 1_000_000L - System.nanoTime();
                link = PcapTap.builder(link).file(plan.pcap()).epochOffsetNanos(offset).flushEachPacket(true).build();
            } catch (IOException e) {
                link.close();
                throw new IOException("cannot write " + plan.pcap() + ": " + e.getMessage(), e);
            }
        }
        OpsecStack.Builder builder = OpsecStack.builder().name("nc").address(plan.ip()).link(link)
                .opsecMode(plan.mode())
                .tcp(TcpConfig.defaults().toBuilder().mtu(plan.mtu()).build());
        if (plan.keylog() != null) {
            builder.securityProtocol(TlsSecurityProtocol.builder().keyLog(plan.keylog()).build());
        }
        // The stack dies with this process, so closing it must wait until the peer has
        // acknowledged everything (the kernel would keep sending after exit; we cannot).
        OpsecStack stack = builder.closeGrace(CLOSE_GRACE).build();
        // Killed (SIGINT, SIGTERM): reset the connection in progress (its stream is cut short,
        // and the peer should hear so at once), then stop the stack.
        Thread hook = new Thread(() -> {
            stopping = true;
            Socket s = current;
            if (s != null) {
                try {
                    s.setSoLinger(true, 0);
                } catch (IOException ignored) {
                    // closed already
                }
                closeQuietly(s);
            }
            stack.close();
        }, "opsec-nc-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        int status;
        try {
            StdinFeed feed = new StdinFeed(stdin);
            status = plan.listen() ? serveListening(plan, stack, feed, err) : connect(plan, stack, feed, err);
        } catch (IOException | RuntimeException e) {
            stack.close();
            if (stopping) {
                return Main.EXIT_FAILURE; // killed: the sockets closed under us, nothing to report
            }
            throw e;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is already running
            }
        }
        long start = System.nanoTime();
        stack.close();
        if (System.nanoTime() - start >= CLOSE_GRACE.toNanos() && !stopping) {
            // close() gave up waiting and reset what was left: the peer may lack our last bytes.
            err.println("opsec: the peer did not acknowledge everything within " + CLOSE_GRACE.toSeconds()
                    + " s of the end; the connection was reset");
            err.flush();
            return Main.EXIT_FAILURE;
        }
        return status;
    }

    private int connect(Plan plan, OpsecStack stack, StdinFeed feed, PrintWriter err) throws IOException {
        InetSocketAddress remote = new InetSocketAddress(InetAddress.getByName(plan.host()), plan.port());
        Socket s = stack.socketFactory().createSocket();
        try (s) {
            try {
                s.connect(remote, plan.connectTimeoutMillis());
            } catch (SocketTimeoutException e) {
                throw new IOException("connect to " + hostPort(remote) + ": timed out after "
                        + plan.connectTimeoutMillis() / 1000 + " s", e);
            } catch (IOException e) {
                throw new IOException("connect to " + hostPort(remote) + ": " + e.getMessage(), e);
            }
            return relay(s, feed, err) == null ? 0 : Main.EXIT_FAILURE;
        }
    }

    private int serveListening(Plan plan, OpsecStack stack, StdinFeed feed, PrintWriter err) throws IOException {
        ServerSocket server = stack.serverSocketFactory().createServerSocket();
        InetAddress on = plan.host() == null ? null : InetAddress.getByName(plan.host());
        try (server) {
            server.bind(new InetSocketAddress(on, plan.port()));
            if (plan.verbose()) {
                err.println("opsec: listening on " + (on != null ? on.getHostAddress() : plan.ip()) + ":" + plan.port()
                        + ", tunnel " + hostPort(tunnelLocal) + " <-> " + hostPort(plan.udpPeer()));
                err.flush();
            }
            while (true) {
                Socket s = server.accept();
                if (!plan.keep()) {
                    server.close(); // nc -l: one connection; later SYNs are refused
                }
                try (s) {
                    String failure = relay(s, feed, err);
                    if (!plan.keep()) {
                        return failure == null ? 0 : Main.EXIT_FAILURE;
                    }
                }
            }
        }
    }

    /**
     * Runs one connection: prints its status, copies stdin to it (half-closing at the end) and
     * it to stdout until the peer ends. Returns null, or the failure it printed.
     */
    private String relay(Socket s, StdinFeed feed, PrintWriter err) {
        current = s;
        String peer = hostPort((InetSocketAddress) s.getRemoteSocketAddress());
        SecurityStatus status = ((OpsecSocket) s).security();
        err.println("opsec: " + status + ", peer " + peer);
        err.flush();
        AtomicReference<IOException> sendFailure = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                feed.sendTo(s);
            } catch (IOException e) {
                sendFailure.set(e);
            }
        }, "opsec-nc-send");
        sender.setDaemon(true);
        sender.start();
        IOException receiveFailure = null;
        try {
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            int n;
            while ((n = in.read(buf)) >= 0) {
                stdout.write(buf, 0, n);
                stdout.flush();
            }
        } catch (IOException e) {
            receiveFailure = e;
        }
        try {
            if (receiveFailure != null) {
                // The connection is over: stop sending (the unsent stdin stays for the next one).
                sender.interrupt();
                closeQuietly(s);
            }
            sender.join(); // ends at the end of stdin or when a send fails
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sender.interrupt();
        }
        IOException failure = receiveFailure != null ? receiveFailure : sendFailure.get();
        if (failure == null || stopping) {
            return null;
        }
        String message = peer + ": " + describe(failure);
        err.println("opsec: " + message);
        err.flush();
        return message;
    }

    private static String describe(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing a failed connection
        }
    }

    /**
     * stdin, read by one thread for the whole process and handed to one connection at a time.
     * A chunk read but not yet sent when a connection ends goes to the next connection.
     */
    static final class StdinFeed {
        private static final byte[] END = new byte[0];
        private final InputStream in;
        private final BlockingQueue<byte[]> chunks = new ArrayBlockingQueue<>(4);
        private byte[] held;
        private boolean ended;
        private Thread reader;

        StdinFeed(InputStream in) {
            this.in = in;
        }

        /**
         * Sends stdin to {@code s} until stdin ends (then half-closes) or this thread is
         * interrupted because the connection is over.
         */
        void sendTo(Socket s) throws IOException {
            synchronized (this) {
                if (reader == null) {
                    reader = new Thread(this::readLoop, "opsec-nc-stdin");
                    reader.setDaemon(true);
                    reader.start();
                }
            }
            OutputStream out = s.getOutputStream();
            while (true) {
                byte[] chunk;
                synchronized (this) {
                    chunk = held;
                    held = null;
                }
                if (chunk == null) {
                    if (ended) {
                        chunk = END;
                    } else {
                        try {
                            chunk = chunks.take();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
                if (chunk == END) {
                    ended = true;
                    s.shutdownOutput();
                    return;
                }
                if (Thread.currentThread().isInterrupted()) {
                    synchronized (this) {
                        held = chunk;
                    }
                    return;
                }
                out.write(chunk);
            }
        }

        private void readLoop() {
            byte[] buf = new byte[16 * 1024];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (n > 0) {
                        chunks.put(java.util.Arrays.copyOf(buf, n));
                    }
                }
            } catch (InterruptedIOException | InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException e) {
                // stdin failed: treat it as its end
            }
            try {
                chunks.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
