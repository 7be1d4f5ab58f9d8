package io.opsec.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.bouncycastle.tls.TlsClient;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsProtocol;
import org.bouncycastle.tls.TlsServer;
import org.bouncycastle.tls.TlsServerProtocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.opsec.SecuritySession;

/**
 * Moves bytes between two TLS ends in memory until neither has anything more to say, like a
 * loss-free TCP connection. Chunking (whole flights, one byte at a time, or seeded random
 * sizes), a tap that may change bytes in flight, and a record of every flight sent. Errors
 * are recorded per end, never thrown, so a test can look at both ends after a failure.
 */
final class Pump {

    /** One end of the pumped connection. */
    interface End {
        void start() throws Exception;

        /** Network output; owned by the caller, or null. */
        ByteBuf poll(ByteBufAllocator alloc);

        /** Network input; borrowed. */
        void receive(ByteBuf bytes) throws Exception;

        /** Decrypted application data; owned by the caller, or null. */
        ByteBuf pollApplication(ByteBufAllocator alloc);
    }

    /** Changes bytes in flight; {@code fromA} tells the direction. Borrowed buffer, may be written. */
    interface Tap {
        void onFlight(boolean fromA, int flightIndex, ByteBuf bytes);
    }

    static End of(SecuritySession s) {
        return new End() {
            @Override
            public void start() throws Exception {
                s.start();
            }

            @Override
            public ByteBuf poll(ByteBufAllocator alloc) {
                return s.pollNetworkOutput(alloc);
            }

            @Override
            public void receive(ByteBuf bytes) throws Exception {
                s.receiveFromNetwork(bytes);
            }

            @Override
            public ByteBuf pollApplication(ByteBufAllocator alloc) {
                return s.pollApplicationInput(alloc);
            }
        };
    }

    /** A bare BouncyCastle client, for peers that misbehave in ways our sessions never do. */
    static End rawClient(TlsClient client) {
        TlsClientProtocol p = new TlsClientProtocol();
        return raw(p, () -> p.connect(client));
    }

    /** A bare BouncyCastle server. */
    static End rawServer(TlsServer server) {
        TlsServerProtocol p = new TlsServerProtocol();
        return raw(p, () -> p.accept(server));
    }

    interface Starter {
        void start() throws IOException;
    }

    static End raw(TlsProtocol p, Starter starter) {
        return new End() {
            @Override
            public void start() throws Exception {
                starter.start();
            }

            @Override
            public ByteBuf poll(ByteBufAllocator alloc) {
                int n = p.getAvailableOutputBytes();
                if (n == 0) {
                    return null;
                }
                byte[] b = new byte[n];
                p.readOutput(b, 0, n);
                return alloc.buffer(n).writeBytes(b);
            }

            @Override
            public void receive(ByteBuf bytes) throws Exception {
                byte[] b = new byte[bytes.readableBytes()];
                bytes.readBytes(b);
                p.offerInput(b);
            }

            @Override
            public ByteBuf pollApplication(ByteBufAllocator alloc) {
                int n = p.getAvailableInputBytes();
                if (n == 0) {
                    return null;
                }
                byte[] b = new byte[n];
                p.readInput(b, 0, n);
                return alloc.buffer(n).writeBytes(b);
            }
        };
    }

    final End a;
    final End b;
    final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    final ByteArrayOutputStream receivedByA = new ByteArrayOutputStream();
    final ByteArrayOutputStream receivedByB = new ByteArrayOutputStream();
    /** Copies of every flight, in order: [fromA ? "A" : "B", bytes]. */
    final List<byte[]> flightsFromA = new ArrayList<>();
    final List<byte[]> flightsFromB = new ArrayList<>();
    Exception errorA;
    Exception errorB;
    private int chunk = Integer.MAX_VALUE;
    private Random random;
    private Tap tap;

    /** The sessions behind {@link #a} and {@link #b}, when they are sessions (else null). */
    final SecuritySession client;
    final SecuritySession server;

    Pump(End a, End b) {
        this(a, b, null, null);
    }

    Pump(SecuritySession client, SecuritySession server) {
        this(of(client), of(server), client, server);
    }

    Pump(End a, End b, SecuritySession client, SecuritySession server) {
        this.a = a;
        this.b = b;
        this.client = client;
        this.server = server;
    }

    /** Delivers at most {@code n} bytes per receive call. */
    Pump chunk(int n) {
        this.chunk = n;
        return this;
    }

    /** Delivers seeded random sizes from 1 to 3000 bytes per receive call. */
    Pump randomChunks(long seed) {
        this.random = new Random(seed);
        return this;
    }

    Pump tap(Tap tap) {
        this.tap = tap;
        return this;
    }

    /** Starts both ends (errors are recorded) and pumps. */
    Pump start() {
        try {
            a.start();
        } catch (Exception e) {
            errorA = e;
        }
        try {
            b.start();
        } catch (Exception e) {
            errorB = e;
        }
        return run();
    }

    /** Moves bytes until neither end produces any. */
    Pump run() {
        boolean progress = true;
        while (progress) {
            progress = move(true) | move(false);
            drain(a, receivedByA);
            drain(b, receivedByB);
        }
        return this;
    }

    private boolean move(boolean fromA) {
        End from = fromA ? a : b;
        End to = fromA ? b : a;
        ByteBuf out = from.poll(alloc);
        if (out == null) {
            return false;
        }
        try {
            List<byte[]> log = fromA ? flightsFromA : flightsFromB;
            if (tap != null) {
                tap.onFlight(fromA, log.size(), out);
            }
            byte[] copy = new byte[out.readableBytes()];
            out.getBytes(out.readerIndex(), copy);
            log.add(copy);
            while (out.isReadable()) {
                int n = Math.min(out.readableBytes(), random != null ? 1 + random.nextInt(3000) : chunk);
                ByteBuf slice = out.readSlice(n);
                if ((fromA ? errorB : errorA) != null) {
                    continue; // the receiver is dead; drop what it would have read
                }
                try {
                    to.receive(slice);
                } catch (Exception e) {
                    if (fromA) {
                        errorB = e;
                    } else {
                        errorA = e;
                    }
                }
            }
        } finally {
            out.release();
        }
        return true;
    }

    private void drain(End end, ByteArrayOutputStream sink) {
        ByteBuf in;
        while ((in = end.pollApplication(alloc)) != null) {
            try {
                byte[] bytes = new byte[in.readableBytes()];
                in.readBytes(bytes);
                sink.writeBytes(bytes);
            } finally {
                in.release();
            }
        }
    }
}
