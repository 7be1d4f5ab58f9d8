package io.opsec.examples;

import io.netty.buffer.ByteBuf;
import io.opsec.stack.OpsecSocket;
import io.opsec.stack.OpsecStack;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.Link;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.link.Middlebox;
import io.opsec.stack.link.Middleboxes;
import io.opsec.stack.link.PcapTap;
import io.opsec.tls.TlsSecurityProtocol;
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

    @Option(names = "--keylog", paramLabel = "FILE",
            description = "Also write the TLS secrets as an NSS key log, so Wireshark can decrypt the capture.")
    Path keylog;

    @Option(names = "--message", paramLabel = "TEXT", defaultValue = "Hello over OPSEC!",
            description = "What the client sends to the echo server.")
    String message;

    @Override
    public Integer call() throws Exception {
        if (!(loss >= 0 && loss <= 0.5)) {
            throw new Main.UsageError("--loss must be between 0 and 0.5, not " + loss);
        }
        PrintWriter out = spec.commandLine().getOut();
        Object printLock = new Object();
        TcpOptions.Codec codec = TcpOptions.Codec.DEFAULT;
        // Losses and stripping are done by middleboxes that say what they did, so the ladder can
        // show a newcomer every segment that was dropped or changed on the way.
        java.util.Random random = new java.util.Random(seed);
        Middlebox aToB = lossy(random, printLock, out, "client's");
        Middlebox bToA = lossy(random, printLock, out, "server's");
        if (strip == Strip.syn) {
            aToB = aToB.andThen(noting(Middleboxes.stripOpsec(Middleboxes.syn(), codec), printLock, out));
        } else if (strip == Strip.synack) {
            bToA = bToA.andThen(noting(Middleboxes.stripOpsec(Middleboxes.synAck(), codec), printLock, out));
        } else if (strip == Strip.ack) {
            aToB = aToB.andThen(noting(Middleboxes.stripOpsec(Middleboxes.handshakeAck(), codec), printLock, out));
        }
        MemoryLink.Builder wire = MemoryLink.builder().seed(seed).middleboxAToB(aToB).middleboxBToA(bToA);
        MemoryLink.Pair pair = wire.build();

        long start = System.nanoTime();
        Ladder ladder = new Ladder(Ipv4Address.parse(CLIENT), start);
        int[] packets = {0};
        Link clientLink = PcapTap.toFile(new WatchLink(pair.a(), (packet, now, sent) -> {
            synchronized (printLock) {
                packets[0]++;
                if (sent) {
                    out.println(ladder.line(packet, now, codec));
                }
            }
        }), pcap);
        Link serverLink = new WatchLink(pair.b(), (packet, now, sent) -> {
            if (sent) {
                synchronized (printLock) {
                    out.println(ladder.line(packet, now, codec));
                }
            }
        });
        TlsSecurityProtocol.Builder tls = TlsSecurityProtocol.builder();
        if (keylog != null) {
            tls.keyLog(keylog);
        }
        TlsSecurityProtocol protocol = tls.build();
        out.println("opsec demo: two stacks on an in-memory wire"
                + (loss > 0 ? String.format(", %.1f%% loss each way (seed %d)", loss * 100, seed) : "")
                + (strip != null ? ", a middlebox strips OPSEC from the " + stripName() : "")
                + (peerWithoutOpsec ? ", the server does not speak OPSEC" : ""));
        out.println();
        out.println(ladder.header("client " + CLIENT, "server " + SERVER + ":" + PORT));
        out.flush();

        try (OpsecStack client = OpsecStack.builder().name("client").address(CLIENT).link(clientLink)
                     .securityProtocol(protocol).build();
             OpsecStack server = OpsecStack.builder().name("server").address(SERVER).link(serverLink)
                     .securityProtocol(protocol)
                     .opsecMode(peerWithoutOpsec ? OpsecMode.OFF : OpsecMode.OPPORTUNISTIC).build();
             ServerSocket listener = server.serverSocketFactory().createServerSocket(PORT)) {
            CompletableFuture<SecurityStatus> served = CompletableFuture.supplyAsync(() -> echoOnce(listener));
            byte[] reply = null;
            SecurityStatus clientStatus = null;
            String failure = null;
            try (Socket s = client.socketFactory().createSocket(SERVER, PORT)) {
                s.setSoTimeout(30_000);
                clientStatus = ((OpsecSocket) s).security();
                note(out, printLock, "client: connect() returned: TCP handshake done, OPSEC "
                        + (clientStatus.isSecured() ? "agreed on TLS, TLS handshake done" : "not agreed"));
                note(out, printLock, "client: opsec: " + clientStatus);
                OutputStream os = s.getOutputStream();
                os.write(message.getBytes(StandardCharsets.UTF_8));
                s.shutdownOutput();
                note(out, printLock, "client sent " + message.length() + " bytes and half-closed");
                reply = s.getInputStream().readAllBytes();
                note(out, printLock, "client read the echo: \"" + new String(reply, StandardCharsets.UTF_8) + "\"");
            } catch (java.io.IOException e) {
                failure = e.getMessage();
                note(out, printLock, "client: the connection failed: " + failure);
            }
            String serverSummary;
            try {
                serverSummary = "opsec: " + served.get(failure == null ? 30 : 2, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                serverSummary = "the connection failed: " + e.getCause().getMessage();
            } catch (java.util.concurrent.TimeoutException e) {
                serverSummary = "the connection failed before accept() could return it";
            }
            // Let the last segments of the close cross the wire before the stacks go.
            awaitQuiet(pair, 500);
            boolean echoed = reply != null && new String(reply, StandardCharsets.UTF_8).equals(message);
            synchronized (printLock) {
                out.println();
                out.println("client: " + (clientStatus != null && failure == null ? "opsec: " + clientStatus
                        : "the connection failed: " + failure));
                out.println("server: " + serverSummary);
                out.println("echo:   " + (echoed ? "matches" : "did not complete"));
                out.println("wrote " + packets[0] + " packets to " + pcap + " (open it with wireshark or tshark -r "
                        + pcap + ")" + (keylog != null ? "; TLS secrets in " + keylog : ""));
                out.println();
                out.println(failure != null ? explainFailure(failure) : explanation(clientStatus));
                out.flush();
            }
            return echoed ? 0 : Main.EXIT_FAILURE;
        }
    }

    private String explainFailure(String failure) {
        return String.join(System.lineSeparator(),
                "What happened: the connection failed loudly (" + failure + ").",
                strip == Strip.ack
                        ? "The server saw no echo on the completing ACK and settled as plain; the client, which had seen\n"
                        + "the selection, settled as secured and sent TLS with the echo on it. Seeing OPSEC on a connection\n"
                        + "it had settled as plain, the server reset it rather than hand TLS bytes to its application."
                        : "When the two ends might disagree about the connection's security, it is reset rather than run.",
                "This is rule 3 of docs/negotiation.md: both secured, both plain, or a loud failure.");
    }

    /** Drops each packet with probability {@code loss}, saying so in the ladder. */
    private Middlebox lossy(java.util.Random random, Object lock, PrintWriter out, String whose) {
        return (packet, now) -> {
            if (loss > 0 && random.nextDouble() < loss) {
                synchronized (lock) {
                    out.println("            ~~ the wire lost the " + whose + " segment above");
                }
                packet.release();
                return null;
            }
            return packet;
        };
    }

    /** Wraps a middlebox so that a packet it changed is reported in the ladder. */
    private static Middlebox noting(Middlebox inner, Object lock, PrintWriter out) {
        return (packet, now) -> {
            int before = packet.readableBytes();
            ByteBuf result = inner.process(packet, now);
            if (result == null || result.readableBytes() != before) {
                synchronized (lock) {
                    out.println("            ~~ a middlebox stripped the OPSEC option from the segment above");
                }
            }
            return result;
        };
    }

    /** A few sentences on what the ladder showed, for a newcomer. */
    private String explanation(SecurityStatus client) {
        if (client.isSecured()) {
            return String.join(System.lineSeparator(),
                    "What happened: the SYN proposed OPSEC protocol 'tls' (kind 253, experiment id 0x05EC), the SYN-ACK",
                    "selected it and the ACK echoed it. The TLS 1.2 handshake then ran as ordinary TCP data (the",
                    "first segments with payload), and only after it did the echo cross, as encrypted records.",
                    "Both ends report the same session id: compare it out of band to rule out a man in the middle.",
                    "Try --strip synack, --peer-without-opsec or --loss 0.1 to see the other cases.");
        }
        return String.join(System.lineSeparator(),
                "What happened: the connection runs as plain TCP (" + client.plainReason().map(r -> r.description())
                        .orElse("unknown") + ").",
                "Nobody's data was lost or misread: when the two ends cannot both secure a connection, both run",
                "plain TCP, or the connection is reset. See docs/negotiation.md for the full decision table.");
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
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
