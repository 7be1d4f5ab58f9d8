package io.opsec.examples.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.OpsecConnection;
import io.opsec.stack.OpsecListener;
import io.opsec.stack.SecurityStatus;
import io.opsec.stack.link.Middlebox;
import io.opsec.stack.sim.SimApp;
import io.opsec.stack.sim.SimNet;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

/**
 * The application of the middlebox matrix: host 0 connects to an echo server on host 1, sends a
 * message that a wire observer can recognise, reads the echo back, and both close. Records what
 * each end ended up with. Runs entirely in virtual time on the caller's thread.
 */
final class Echo implements SimApp {
    static final int PORT = 7;
    /** Application bytes a wire observer looks for: they must never cross a secured connection in clear. */
    static final byte[] MARKER = "OPSEC-APPLICATION-PLAINTEXT-MARKER".getBytes(StandardCharsets.US_ASCII);
    static final long DEADLINE = Duration.ofMinutes(10).toNanos();

    private final byte[] message;
    private final OpsecListener listener;
    private final int clientPort;
    final OpsecConnection client;
    OpsecConnection server;
    private final ByteArrayOutputStream clientGot = new ByteArrayOutputStream();
    private final ByteArrayOutputStream serverGot = new ByteArrayOutputStream();
    private int clientSent;
    private boolean clientShut;
    private boolean serverShut;
    private boolean clientClosed;
    private boolean serverClosed;
    IOException clientError;
    IOException serverError;
    long clientSettledAt = -1;

    /** Opens the connection now; {@code simultaneousPort} > 0 makes both hosts open to each other. */
    Echo(SimNet net, int size, int simultaneousPort) throws IOException {
        byte[] m = new byte[size];
        for (int i = 0; i < size; i++) {
            m[i] = MARKER[i % MARKER.length];
        }
        this.message = m;
        this.clientPort = simultaneousPort;
        if (simultaneousPort > 0) {
            listener = null;
            client = net.host(0).open(simultaneousPort, net.socket(1, PORT), null);
            server = net.host(1).open(PORT, net.socket(0, simultaneousPort), null);
        } else {
            listener = net.host(1).listen(PORT, null);
            client = net.host(0).open(net.socket(1, PORT), null);
        }
        net.add(this);
    }

    Echo(SimNet net) throws IOException {
        this(net, 6000, 0);
    }

    /** Runs until both ends are over (or the deadline); returns what they ended up with. */
    Outcome run(SimNet net) {
        net.runUntil(this::isFinished, net.now() + DEADLINE);
        Outcome o = outcome();
        if (listener != null) {
            listener.close();
            net.runFor(1_000_000L); // the stack frees the port on its next run
        }
        return o;
    }

    Outcome outcome() {
        return new Outcome(client.security(), server == null ? null : server.security(),
                client.error() != null ? client.error() : clientError,
                server == null ? null : server.error() != null ? server.error() : serverError,
                clientGot.toByteArray(), serverGot.toByteArray(), message, client.isDone(),
                server == null || server.isDone(), clientSettledAt,
                client.tcpInfo() + (server == null ? "" : " / " + server.tcpInfo()));
    }

    @Override
    public void step(SimNet net) {
        if (listener != null && server == null) {
            server = listener.poll();
        }
        if (clientSettledAt < 0 && client.isSettled()) {
            clientSettledAt = net.now();
        }
        try {
            if (!clientClosed && clientError == null) {
                if (clientSent < message.length) {
                    ByteBuf b = Unpooled.wrappedBuffer(message, clientSent, message.length - clientSent);
                    clientSent += client.write(b);
                }
                drain(client, clientGot);
                if (clientSent == message.length && !clientShut && clientGot.size() == message.length) {
                    clientShut = true;
                    client.shutdownOutput();
                }
                if (clientShut && client.isInputEnded()) {
                    clientClosed = true;
                    client.close();
                }
            }
        } catch (IOException e) {
            clientError = e;
        }
        try {
            if (server != null && !serverClosed && serverError == null) {
                int before = serverGot.size();
                drain(server, serverGot);
                if (serverGot.size() > before) {
                    byte[] all = serverGot.toByteArray();
                    ByteBuf b = Unpooled.wrappedBuffer(Arrays.copyOfRange(all, before, all.length));
                    server.write(b); // the echo is small: the socket buffer takes it whole
                }
                if (server.isInputEnded() && !serverShut) {
                    serverShut = true;
                    server.shutdownOutput();
                }
                if (serverShut && !serverClosed) {
                    serverClosed = true;
                    server.close();
                }
            }
        } catch (IOException e) {
            serverError = e;
        }
    }

    private static void drain(OpsecConnection c, ByteArrayOutputStream to) throws IOException {
        ByteBuf b;
        while ((b = c.read(64 * 1024)) != null) {
            try {
                byte[] chunk = new byte[b.readableBytes()];
                b.readBytes(chunk);
                to.write(chunk, 0, chunk.length);
            } finally {
                b.release();
            }
        }
    }

    @Override
    public boolean isFinished() {
        boolean clientOver = client.isDone();
        boolean serverOver = server == null ? clientOver : server.isDone();
        return clientOver && serverOver;
    }

    /**
     * A middlebox that passes every packet unchanged and remembers whether any TCP payload
     * carried the application's marker in clear.
     */
    static final class PlaintextObserver implements Middlebox {
        int packetsWithMarker;
        int payloadPackets;

        @Override
        public ByteBuf process(ByteBuf p, long now) {
            int base = p.readerIndex();
            if (p.readableBytes() >= 40 && (p.getByte(base) >> 4) == 4 && p.getByte(base + 9) == 6) {
                int ihl = (p.getByte(base) & 0x0f) * 4;
                int total = p.getUnsignedShort(base + 2);
                int tcpHeader = ((p.getByte(base + ihl + 12) >> 4) & 0x0f) * 4;
                int from = base + ihl + tcpHeader;
                int to = base + Math.min(total, p.readableBytes());
                if (to > from) {
                    payloadPackets++;
                    byte[] payload = new byte[to - from];
                    p.getBytes(from, payload);
                    if (contains(payload, Arrays.copyOf(MARKER, 12))) {
                        packetsWithMarker++;
                    }
                }
            }
            return p;
        }

        private static boolean contains(byte[] hay, byte[] needle) {
            outer:
            for (int i = 0; i + needle.length <= hay.length; i++) {
                for (int k = 0; k < needle.length; k++) {
                    if (hay[i + k] != needle[k]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        }
    }

    /** What both ends ended up with. */
    record Outcome(SecurityStatus client, SecurityStatus server, IOException clientError, IOException serverError,
                   byte[] clientGot, byte[] serverGot, byte[] sent, boolean clientDone, boolean serverDone,
                   long clientSettledAt, String tcp) {
        boolean echoed() {
            return Arrays.equals(clientGot, sent) && Arrays.equals(serverGot, sent);
        }

        @Override
        public String toString() {
            return "client " + client + (clientError != null ? " error " + clientError : "") + ", got "
                    + clientGot.length + "; server " + (server == null ? "never accepted" : server.toString())
                    + (serverError != null ? " error " + serverError : "") + ", got " + serverGot.length
                    + " [" + tcp + "]";
        }
    }
}
