package io.opsec.examples;

import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.Link;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.link.Middleboxes;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.TcpOptions;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code opsec demo}: two stacks in one process on an in-memory wire. The client proposes OPSEC,
 * the server selects TLS, TLS runs, an echo goes both ways, and the connection closes in order.
 * Every segment is printed as a ladder and written to a pcap.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Two stacks in one process: OPSEC negotiation in the TCP handshake, a TLS 1.2 handshake,",
                "an echo, and an orderly close, printed segment by segment and captured to a pcap."})
final class DemoCommand implements Callable<Integer> {
    static final String CLIENT = "198.18.0.1";
    static final String SERVER = "198.18.0.2";
    static final int PORT = 7;

    /** Where a middlebox strips the OPSEC option. */
    enum Strip { syn, synack, ack }

    @Spec
    CommandSpec spec;

    @Option(names = "--peer-without-opsec", description = "The server does not speak OPSEC: plain TCP results.")
    boolean peerWithoutOpsec;

    @Option(names = "--strip", paramLabel = "syn|synack|ack",
            description = "A middlebox strips the OPSEC option from the SYN, the SYN-ACK, or the completing ACK.")
    Strip strip;

    @Option(names = "--loss", paramLabel = "P", defaultValue = "0",
            description = "Drop each packet with probability P (0 to 0.5), each way. Default: ${DEFAULT-VALUE}.")
    double loss;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed of the simulated losses. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--pcap", paramLabel = "FILE", defaultValue = "opsec-demo.pcap",
            description = "Where to write the capture. Default: ${DEFAULT-VALUE}.")
    Path pcap;

    @Option(names = "--message", paramLabel = "TEXT", defaultValue = "Hello over OPSEC!",
            description = "What the client sends to the echo server.")
    String message;

    @Override
    public Integer call() throws Exception {
        if (!(loss >= 0 && loss <= 0.5)) {
            throw new Main.UsageError("--loss must be between 0 and 0.5, not " + loss);
        }
        PrintWriter out = spec.commandLine().getOut();
        MemoryLink.Builder wire = MemoryLink.builder().seed(seed);
        if (loss > 0) {
            wire.impairments(Impairments.builder().loss(loss).build());
        }
        TcpOptions.Codec codec = TcpOptions.Codec.DEFAULT;
        if (strip == Strip.syn) {
            wire.middleboxAToB(Middleboxes.stripOpsec(Middleboxes.syn(), codec));
        } else if (strip == Strip.synack) {
            wire.middleboxBToA(Middleboxes.stripOpsec(Middleboxes.synAck(), codec));
        } else if (strip == Strip.ack) {
            wire.middleboxAToB(Middleboxes.stripOpsec(Middleboxes.handshakeAck(), codec));
        }
        MemoryLink.Pair pair = wire.build();

        long start = System.nanoTime();
        Ladder ladder = new Ladder(Ipv4Address.parse(CLIENT), start);
        Object printLock = new Object();
        int[] segments = {0};
        try (PcapWriter capture = PcapWriter.open(pcap)) {
            Link clientLink = new WatchLink(pair.a(), (packet, now, sent) -> {
                synchronized (printLock) {
                    segments[0]++;
                    capture.write(packet, now - start);
                    if (sent) {
                        out.println(ladder.line(packet, now, codec));
                    }
                }
            });
            Link serverLink = new WatchLink(pair.b(), (packet, now, sent) -> {
                if (sent) {
                    synchronized (printLock) {
                        out.println(ladder.line(packet, now, codec));
                    }
                }
            });
            out.println("opsec demo: two stacks on an in-memory wire"
                    + (loss > 0 ? String.format(", %.1f%% loss each way (seed %d)", loss * 100, seed) : "")
                    + (strip != null ? ", a middlebox strips OPSEC from the " + stripName() : "")
                    + (peerWithoutOpsec ? ", the server does not speak OPSEC" : ""));
            out.println();
            out.println(ladder.header("client " + CLIENT, "server " + SERVER + ":" + PORT));
            out.flush();

            try (OpsecStack client = OpsecStack.builder().name("client").address(CLIENT).link(clientLink).build();
                 OpsecStack server = OpsecStack.builder().name("server").address(SERVER).link(serverLink)
                         .opsecMode(peerWithoutOpsec ? OpsecMode.OFF : OpsecMode.OPPORTUNISTIC).build();
                 ServerSocket listener = server.serverSocketFactory().createServerSocket(PORT)) {
                CompletableFuture<SecurityStatus> served = CompletableFuture.supplyAsync(() -> echoOnce(listener));
                byte[] reply;
                SecurityStatus clientStatus;
                try (Socket s = client.socketFactory().createSocket(SERVER, PORT)) {
                    s.setSoTimeout(30_000);
                    clientStatus = ((OpsecSocket) s).security();
                    note(out, printLock, "client connected: " + clientStatus);
                    OutputStream os = s.getOutputStream();
                    os.write(message.getBytes(StandardCharsets.UTF_8));
                    s.shutdownOutput();
                    note(out, printLock, "client sent " + message.length() + " bytes and half-closed");
                    reply = s.getInputStream().readAllBytes();
                    note(out, printLock, "client read the echo: \"" + new String(reply, StandardCharsets.UTF_8) + "\"");
                }
                SecurityStatus serverStatus = served.get(30, TimeUnit.SECONDS);
                // Let the last segments of the close cross the wire before the stacks go.
                awaitQuiet(pair, 500);
                synchronized (printLock) {
                    out.println();
                    out.println("client: opsec: " + clientStatus);
                    out.println("server: opsec: " + serverStatus);
                    out.println("echo:   " + (new String(reply, StandardCharsets.UTF_8).equals(message) ? "matches" : "DIFFERS"));
                    out.println("wrote " + segments[0] + " packets to " + pcap + " (open it with wireshark or tshark -r)");
                    out.flush();
                }
                return new String(reply, StandardCharsets.UTF_8).equals(message) ? 0 : Main.EXIT_FAILURE;
            }
        }
    }

    private String stripName() {
        return switch (strip) {
            case syn -> "SYN";
            case synack -> "SYN-ACK";
            case ack -> "completing ACK";
        };
    }

    private static void awaitQuiet(MemoryLink.Pair pair, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        long last = -1;
        while (System.nanoTime() < deadline) {
            long sent = pair.aToB().counters().sent() + pair.bToA().counters().sent();
            if (sent == last) {
                return;
            }
            last = sent;
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    private static void note(PrintWriter out, Object lock, String text) {
        synchronized (lock) {
            out.println("            ** " + text);
            out.flush();
        }
    }

    private static SecurityStatus echoOnce(ServerSocket listener) {
        try (Socket s = listener.accept()) {
            s.setSoTimeout(30_000);
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            in.transferTo(got);
            s.getOutputStream().write(got.toByteArray());
            return ((OpsecSocket) s).security();
        } catch (Exception e) {
            throw new IllegalStateException("echo server: " + e.getMessage(), e);
        }
    }
}
