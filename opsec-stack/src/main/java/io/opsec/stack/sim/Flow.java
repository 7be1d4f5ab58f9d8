package io.opsec.stack.sim;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.OpsecConnection;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * One simulated connection and the two applications at its ends: each sends its stream of
 * seeded bytes, reads and checks what arrives, and ends the way the scenario says. Records
 * enough to check the invariants afterwards ({@link #check}).
 */
public final class Flow implements SimApp {
    /** How a flow ends. */
    public enum Ending {
        /** Each end half-closes when it has sent everything and closes at the peer's end of stream. */
        CLOSE,
        /** Both ends shut output at the same virtual instant, once each has received everything. */
        SIMULTANEOUS_CLOSE,
        /** The client writes half its upload and aborts (RST) once the server has received it. */
        CLIENT_ABORT,
        /** The path is cut for good mid-transfer: both ends must report a timeout. */
        CUT,
        /**
         * As {@link #CLOSE}, but the server writes nothing before the client's end of stream: a
         * FIN that overtook queued data would end the upload short, cleanly.
         */
        STRICT_HALF_CLOSE
    }

    private static final int READ_MAX = 64 * 1024;

    final int id;
    final int client;
    final int server;
    final int serverPort;
    final int clientPort;
    final long upBytes;
    final long downBytes;
    final Ending ending;
    final long startAt;
    final boolean simultaneousOpen;
    final End clientEnd;
    final End serverEnd;
    private boolean started;
    private boolean aborted;
    private long abortAt = -1;
    private IOException openError;
    private final byte[] scratch = new byte[READ_MAX];
    private final List<String> violations;

    Flow(long seed, int id, int client, int server, int serverPort, int clientPort, long upBytes, long downBytes,
         Ending ending, long startAt, boolean simultaneousOpen, List<String> violations) {
        this.id = id;
        this.client = client;
        this.server = server;
        this.serverPort = serverPort;
        this.clientPort = clientPort;
        this.upBytes = upBytes;
        this.downBytes = downBytes;
        this.ending = ending;
        this.startAt = startAt;
        this.simultaneousOpen = simultaneousOpen;
        this.violations = violations;
        this.clientEnd = new End("flow " + id + " client", new ByteSource(SimNet.derive(seed, "up", id)),
                new ByteSource(SimNet.derive(seed, "down", id)), upBytes, downBytes);
        this.serverEnd = new End("flow " + id + " server", new ByteSource(SimNet.derive(seed, "down", id)),
                new ByteSource(SimNet.derive(seed, "up", id)), downBytes, upBytes);
    }

    /** One end: its connection, what it sent and what it received. */
    final class End {
        final String name;
        final ByteSource out;
        final ByteSource in;
        final long outTotal;
        final long inTotal;
        OpsecConnection conn;
        boolean outputShut;
        boolean inputEnded;
        boolean closed;
        boolean done;
        long settledAt = -1;
        long lastByteAt = -1;
        long closeAt = -1;
        long doneAt = -1;
        long firstMismatch = -1;
        long bytesAfterEnd;
        IOException error;

        End(String name, ByteSource out, ByteSource in, long outTotal, long inTotal) {
            this.name = name;
            this.out = out;
            this.in = in;
            this.outTotal = outTotal;
            this.inTotal = inTotal;
        }

        boolean receivedAll() {
            return in.count() == inTotal;
        }

        /** A timeline for failure reports. */
        String timeline() {
            return "sent " + out.count() + "/" + outTotal + ", received " + in.count() + "/" + inTotal
                    + (settledAt >= 0 ? ", settled " + SimFormat.time(settledAt) : "")
                    + (closeAt >= 0 ? ", closed " + SimFormat.time(closeAt) : "")
                    + (doneAt >= 0 ? ", ended " + SimFormat.time(doneAt) : "")
                    + (inputEnded ? ", saw end of stream" : "");
        }

        /** The connection's status when it ended or now. */
        String status() {
            return conn == null ? "never connected" : conn.security().toString();
        }
    }

    /** Where the client connects. */
    InetSocketAddress serverAddress(SimNet net) {
        return net.socket(server, serverPort);
    }

    /** A listener handed out the server end. */
    void attachServer(OpsecConnection c) {
        if (serverEnd.conn != null) {
            violations.add("flow " + id + ": a second server connection for one client: " + c);
            c.abort();
            return;
        }
        serverEnd.conn = c;
    }

    @Override
    public long wakeAt() {
        return started ? Long.MAX_VALUE : startAt;
    }

    @Override
    public void step(SimNet net) {
        long now = net.now();
        if (!started) {
            if (now < startAt) {
                return;
            }
            started = true;
            try {
                clientEnd.conn = net.host(client).open(clientPort, serverAddress(net), null);
                if (simultaneousOpen) {
                    serverEnd.conn = net.host(server).open(serverPort, net.socket(client, clientPort), null);
                }
            } catch (IOException e) {
                openError = e;
                violations.add("flow " + id + ": open failed: " + e);
                return;
            }
        }
        pump(clientEnd, now);
        pump(serverEnd, now);
        if (ending == Ending.CLIENT_ABORT && !aborted && clientEnd.conn != null
                && serverEnd.in.count() >= abortPoint()) {
            aborted = true;
            abortAt = now;
            clientEnd.closeAt = now;
            clientEnd.conn.abort();
        }
        if (ending == Ending.SIMULTANEOUS_CLOSE && !clientEnd.outputShut && !serverEnd.outputShut
                && clientEnd.conn != null && serverEnd.conn != null
                && clientEnd.out.count() == upBytes && serverEnd.out.count() == downBytes
                && clientEnd.receivedAll() && serverEnd.receivedAll()) {
            shut(clientEnd, now);
            shut(serverEnd, now);
        }
    }

    private void pump(End e, long now) {
        OpsecConnection c = e.conn;
        if (c == null || e.done) {
            return;
        }
        if (e.settledAt < 0 && c.isSettled()) {
            e.settledAt = now;
        }
        boolean abortedHere = e == clientEnd && aborted;
        if (!abortedHere && !e.closed) {
            if (ending != Ending.STRICT_HALF_CLOSE || e == clientEnd || e.inputEnded) {
                write(e, now);
            }
            read(e, now);
            if (!e.outputShut && e.out.count() == e.outTotal && e.error == null && ending != Ending.SIMULTANEOUS_CLOSE) {
                shut(e, now);
            }
            if (e.outputShut && e.inputEnded && !e.closed) {
                e.closed = true;
                c.close();
            }
        }
        if (c.isDone()) {
            e.done = true;
            e.doneAt = now;
            if (e.error == null) {
                e.error = c.error();
            }
        }
    }

    private long abortPoint() {
        return Math.max(1, upBytes / 2);
    }

    private void shut(End e, long now) {
        e.outputShut = true;
        if (e.closeAt < 0) {
            e.closeAt = now;
        }
        e.conn.shutdownOutput();
    }

    private void write(End e, long now) {
        // An aborting client writes only the first half: it never sends a FIN, so its peer cannot
        // see a clean end of stream and must learn of the abort from the RST.
        long limit = ending == Ending.CLIENT_ABORT && e == clientEnd ? abortPoint() : e.outTotal;
        while (!e.outputShut && e.error == null && e.out.count() < limit) {
            int n = (int) Math.min(e.out.available(), limit - e.out.count());
            ByteBuf chunk = Unpooled.wrappedBuffer(e.out.block(), e.out.offset(), n);
            int taken;
            try {
                taken = e.conn.write(chunk);
            } catch (IOException ex) {
                e.error = ex;
                return;
            }
            if (taken <= 0) {
                return;
            }
            e.out.advance(taken);
        }
    }

    private void read(End e, long now) {
        while (e.error == null) {
            ByteBuf b;
            try {
                b = e.conn.read(READ_MAX);
            } catch (IOException ex) {
                e.error = ex;
                return;
            }
            if (b == null) {
                break;
            }
            int n = b.readableBytes();
            try {
                b.readBytes(scratch, 0, n);
            } finally {
                b.release();
            }
            if (e.inputEnded) {
                e.bytesAfterEnd += n;
                violations.add(e.name + ": " + n + " bytes delivered after the end of stream at "
                        + SimFormat.time(now));
            }
            if (e.in.count() + n > e.inTotal) {
                violations.add(e.name + ": received " + (e.in.count() + n) + " bytes of " + e.inTotal);
            }
            long base = e.in.count();
            int bad = e.in.verify(scratch, n);
            if (bad >= 0 && e.firstMismatch < 0) {
                e.firstMismatch = base + bad;
                violations.add(e.name + ": byte " + e.firstMismatch + " differs from what was sent");
            }
            e.lastByteAt = now;
        }
        if (!e.inputEnded && e.error == null && e.conn.isInputEnded()) {
            e.inputEnded = true;
        }
    }

    @Override
    public boolean isFinished() {
        if (openError != null) {
            return true;
        }
        boolean serverDone = serverEnd.done || (serverEnd.conn == null && clientEnd.done);
        return clientEnd.done && serverDone;
    }

    /** When the upload was fully received by the server (for goodput), or -1. */
    long uploadReceivedAt() {
        return serverEnd.receivedAll() ? serverEnd.lastByteAt : -1;
    }

    /**
     * Checks this flow's invariants once the run is over.
     *
     * @param endBound how long after its application closed (or a fault began) an end may take to end
     * @param faultAt  when the path was cut for good, or -1
     */
    void check(long endBound, long faultAt) {
        String f = "flow " + id + " (" + (simultaneousOpen ? "simultaneous open, " : "") + ending + "): ";
        if (openError != null) {
            return; // already reported
        }
        // The bound runs from the moment both applications have done their part (the later close,
        // or the abort), or from the cut: before that a connection is legitimately busy.
        long bothClosed = Math.max(clientEnd.closeAt, serverEnd.closeAt);
        for (End e : List.of(clientEnd, serverEnd)) {
            if (e.conn != null && !e.done) {
                violations.add(f + e.name + " still open at the end of the run (" + e.conn.tcpInfo() + ")");
            }
            long from = ending == Ending.CUT ? faultAt : bothClosed;
            if (e.done && from >= 0 && e.doneAt - from > endBound) {
                violations.add(f + e.name + " took " + SimFormat.time(e.doneAt - from) + " to end (bound "
                        + SimFormat.time(endBound) + ")");
            }
        }
        switch (ending) {
            case CLOSE, SIMULTANEOUS_CLOSE, STRICT_HALF_CLOSE -> {
                if (serverEnd.conn == null) {
                    violations.add(f + "the server never accepted the connection; client: "
                            + clientEnd.error);
                    return;
                }
                for (End e : List.of(clientEnd, serverEnd)) {
                    if (e.error != null) {
                        violations.add(f + e.name + " ended with an error: " + e.error);
                    }
                    if (!e.inputEnded) {
                        violations.add(f + e.name + " never saw the end of stream");
                    }
                }
                exact(f + "client to server", clientEnd, serverEnd);
                exact(f + "server to client", serverEnd, clientEnd);
            }
            case CLIENT_ABORT -> {
                if (!aborted) {
                    violations.add(f + "the client never got to abort");
                    return;
                }
                if (serverEnd.error == null) {
                    violations.add(f + "the server was not told of the abort (it "
                            + (serverEnd.inputEnded ? "saw a clean end of stream" : "ended without an error") + ")");
                }
                if (serverEnd.in.count() > clientEnd.out.count()) {
                    violations.add(f + "the server received more than the client wrote");
                }
            }
            case CUT -> {
                // Packets already on the wire when the cut came still arrive: an end may finish
                // cleanly, but only if its whole exchange really completed. Every other end must
                // report a timeout, and at least one must (or the cut came too late to prove anything).
                int timeouts = 0;
                for (End e : List.of(clientEnd, serverEnd)) {
                    if (e.conn == null) {
                        continue;
                    }
                    End peer = e == clientEnd ? serverEnd : clientEnd;
                    if (e.error == null) {
                        boolean complete = e.inputEnded && e.receivedAll() && peer.receivedAll();
                        if (!complete) {
                            violations.add(f + e.name + " ended without an error after the path was cut at "
                                    + SimFormat.time(faultAt) + " (" + e.timeline() + "; peer " + peer.timeline() + ")");
                        }
                    } else if (e.error instanceof SocketTimeoutException
                            || String.valueOf(e.error.getMessage()).contains("timed out")) {
                        timeouts++;
                    } else {
                        violations.add(f + e.name + " ended with " + e.error + ", not a timeout");
                    }
                }
                if (timeouts == 0) {
                    violations.add(f + "no end reported a timeout after the cut at " + SimFormat.time(faultAt));
                }
            }
            default -> throw new IllegalStateException();
        }
    }

    private void exact(String what, End from, End to) {
        if (from.out.count() != from.outTotal) {
            violations.add(what + ": only " + from.out.count() + " of " + from.outTotal + " bytes were written");
        }
        if (to.in.count() != from.out.count()) {
            violations.add(what + ": " + to.in.count() + " bytes received, " + from.out.count() + " sent");
        } else if (!Arrays.equals(to.in.sha256(), from.out.sha256())) {
            violations.add(what + ": SHA-256 differs: sent " + HexFormat.of().formatHex(from.out.sha256())
                    + ", received " + HexFormat.of().formatHex(to.in.sha256()));
        }
    }
}
