package io.opsec.stack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.link.Link;
import io.opsec.stack.opsec.Negotiation;
import io.opsec.stack.opsec.OpsecMode;
import io.opsec.stack.opsec.OpsecPathCache;
import io.opsec.stack.opsec.OpsecPolicy;
import io.opsec.stack.opsec.SecurityProtocol;
import io.opsec.stack.tcp.ConnectionEvents;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.tcp.TcpConnection;
import io.opsec.stack.tcp.TcpEndpoint;
import io.opsec.stack.tcp.TcpError;
import io.opsec.stack.tcp.TcpListener;
import io.opsec.stack.tcp.TcpStats;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;
import java.util.random.RandomGenerator;
import javax.net.ServerSocketFactory;
import javax.net.SocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One IPv4 host running opsec-stack over one {@link Link}: its TCP, its OPSEC negotiation and
 * security sessions, and the sockets applications use.
 *
 * <pre>{@code
 * MemoryLink.Pair wire = MemoryLink.pair();
 * OpsecStack a = OpsecStack.builder().address("198.18.0.1").link(wire.a()).build();
 * OpsecStack b = OpsecStack.builder().address("198.18.0.2").link(wire.b()).build();
 * Socket s = a.socketFactory().createSocket("198.18.0.2", 7);
 * boolean secured = ((OpsecSocket) s).security().isSecured();
 * }</pre>
 *
 * <p><b>Threads.</b> A stack built normally runs one event-loop thread that owns all TCP state and
 * timers; application threads hand it work and wait on it, never touching TCP state. A stack
 * built with {@link Builder#manualClock()} has no thread: whoever owns it (the simulator) calls
 * {@link #runOnce(long)} with its own clock, so the same code runs on virtual time.
 *
 * <p>{@link #close()} ends connections gracefully within a bound (then resets what is left),
 * stops the thread and closes the link.
 */
public final class OpsecStack implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OpsecStack.class);
    /** Default size of each socket's application-side buffers, in bytes. */
    public static final int DEFAULT_SOCKET_BUFFER = 256 * 1024;
    /** How long {@link #close()} waits for connections to end gracefully, unless the builder says otherwise. */
    public static final Duration CLOSE_GRACE = Duration.ofSeconds(2);

    private final int address;
    private final Link link;
    private final TcpEndpoint endpoint;
    private final OpsecPolicy policy;
    private final Map<Integer, SecurityProtocol> protocols;
    private final int[] protocolIds;
    private final OpsecOption framing;
    private final OpsecPathCache pathCache = OpsecPathCache.defaults();
    private final ByteBufAllocator alloc;
    private final String name;
    private final boolean manual;
    private final long closeGraceNanos;
    private final RandomGenerator random;

    private final ConcurrentLinkedQueue<LongConsumer> commands = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<StreamPump> dirty = new ConcurrentLinkedQueue<>();
    private final Set<StreamPump> pumps = new HashSet<>();
    private final Map<TcpConnection, StreamPump> pumpOf = new HashMap<>();
    private final Map<Integer, ListenerState> listeners = new HashMap<>();
    private final Set<Integer> reservedPorts = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private final Thread loop;
    private volatile boolean closing;
    private volatile boolean stopped;
    private long lastNow;

    private OpsecStack(Builder b) {
        this.address = b.address;
        this.link = b.link;
        this.policy = b.policy;
        this.name = b.name != null ? b.name : Ipv4Address.format(b.address);
        this.alloc = b.alloc;
        this.manual = b.manual;
        this.closeGraceNanos = b.closeGrace.toNanos();
        this.random = b.random;
        Map<Integer, SecurityProtocol> ps = new LinkedHashMap<>();
        for (SecurityProtocol p : b.protocols) {
            ps.putIfAbsent(p.id(), p);
        }
        if (b.protocols.isEmpty()) {
            ps.putAll(SecurityProtocol.installed(OpsecStack.class.getClassLoader()));
        }
        this.protocols = Map.copyOf(ps);
        this.protocolIds = ps.keySet().stream().mapToInt(Integer::intValue).toArray();
        this.framing = b.literalKind > 0 ? OpsecOption.literal(b.literalKind, 0) : OpsecOption.experimental(0);
        TcpConfig config = b.tcpConfig.toBuilder().mtu(Math.min(b.tcpConfig.mtu(), link.mtu())).build();
        byte[] secret = b.isnSecret;
        if (secret == null) {
            secret = new byte[32];
            new SecureRandom().nextBytes(secret);
        }
        this.endpoint = new TcpEndpoint(address, config, secret, b.random, alloc);
        if (manual) {
            loop = null;
        } else {
            loop = new Thread(this::runLoop, "opsec-stack-" + name);
            loop.setDaemon(true);
            link.onArrival(this::wake);
            loop.start();
        }
    }

    /** A builder for a stack. */
    public static Builder builder() {
        return new Builder();
    }

    /** A factory of unconnected and connected {@link OpsecSocket}s on this stack. */
    public SocketFactory socketFactory() {
        return new Sockets();
    }

    /** A factory of {@link OpsecServerSocket}s on this stack. */
    public ServerSocketFactory serverSocketFactory() {
        return new ServerSockets();
    }

    /** This host's address. */
    public InetAddress address() {
        return Ipv4Address.toInet(address);
    }

    /** Counters of the TCP layer (malformed packets by reason, resets sent, ...). */
    public TcpStats stats() {
        return endpoint.stats();
    }

    /** The installed security protocols, by OPSEC id. */
    public Map<Integer, SecurityProtocol> protocols() {
        return protocols;
    }

    @Override
    public String toString() {
        return "OpsecStack[" + name + ", " + pumps.size() + " connections]";
    }

    // =================================================================== the loop

    /**
     * Runs everything that is due at {@code now}: commands from application threads, arrived
     * packets, timers, data movement, and transmission. Called by the stack's own thread, or, for
     * a stack built with {@link Builder#manualClock()}, by its owner.
     */
    public void runOnce(long now) {
        lastNow = now;
        LongConsumer cmd;
        while ((cmd = commands.poll()) != null) {
            cmd.accept(now);
        }
        ByteBuf p;
        endpoint.beginBatch(); // everything queued is taken in before any connection decides to send
        try {
            while ((p = link.receive(now)) != null) {
                endpoint.receive(p, now);
            }
        } finally {
            endpoint.endBatch(now);
        }
        endpoint.poll(now);
        StreamPump pump;
        // Stepping a pump can make TCP emit, which can mark other pumps dirty; bound the rounds.
        for (int round = 0; round < 4 && !dirty.isEmpty(); round++) {
            List<StreamPump> batch = new ArrayList<>();
            while ((pump = dirty.poll()) != null) {
                pump.clearDirty();
                batch.add(pump);
            }
            for (StreamPump s : batch) {
                s.step(now);
            }
        }
        ByteBuf out;
        while ((out = endpoint.pollTransmit()) != null) {
            link.transmit(out, now);
        }
    }

    /** When {@link #runOnce(long)} next has work: a time, or {@link Long#MAX_VALUE}. */
    public long nextWakeAt() {
        if (!commands.isEmpty() || !dirty.isEmpty()) {
            return Long.MIN_VALUE;
        }
        return Math.min(endpoint.pollAt(), link.nextArrivalAt());
    }

    private void runLoop() {
        try {
            while (!stopped) {
                wakePending.set(false);
                long now = System.nanoTime();
                runOnce(now);
                long next = nextWakeAt();
                if (next == Long.MIN_VALUE || wakePending.get()) {
                    continue;
                }
                long wait = next == Long.MAX_VALUE ? TimeUnit.MILLISECONDS.toNanos(500) : next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(this, Math.min(wait, TimeUnit.MILLISECONDS.toNanos(500)));
                }
            }
        } catch (Throwable t) {
            log.error("event loop of {} stopped by an unexpected error", name, t);
            stopped = true;
        }
    }

    private void wake() {
        if (loop != null && wakePending.compareAndSet(false, true)) {
            LockSupport.unpark(loop);
        }
    }

    /** Queues work for the loop; it runs with the loop's "now". */
    private void submit(LongConsumer command) {
        if (stopped) {
            throw new IllegalStateException("stack " + name + " is closed");
        }
        commands.add(command);
        wake();
    }

    private void markDirty(StreamPump p) {
        if (p.markDirty()) {
            dirty.add(p);
            wake();
        }
    }

    // =================================================================== connections

    private ConnectionEvents eventsFor(StreamPump[] holder) {
        return new ConnectionEvents() {
            @Override public void onEstablished(TcpConnection c) { dirtyOf(holder); }
            @Override public void onReadable(TcpConnection c) { dirtyOf(holder); }
            @Override public void onWritable(TcpConnection c) { dirtyOf(holder); }
            @Override public void onClosed(TcpConnection c, TcpError error) { dirtyOf(holder); }
        };
    }

    private void dirtyOf(StreamPump[] holder) {
        if (holder[0] != null) {
            markDirty(holder[0]);
        }
    }

    private Negotiation newNegotiation(boolean initiator, OpsecMode socketMode, int port) {
        OpsecMode mode = policy.resolve(socketMode, port);
        return initiator ? Negotiation.initiator(mode, protocolIds, framing)
                : Negotiation.responder(mode, protocolIds, framing);
    }

    private StreamPump newPump(TcpConnection tcp, Negotiation n, Backend.Settings s, StreamPump[] holder) {
        int snd = s.sendBufferSize() > 0 ? s.sendBufferSize() : DEFAULT_SOCKET_BUFFER;
        int rcv = s.receiveBufferSize() > 0 ? s.receiveBufferSize() : DEFAULT_SOCKET_BUFFER;
        StreamPump[] self = holder;
        StreamPump p = new StreamPump(tcp, n, protocols, alloc, snd, rcv, () -> {
            if (self[0] != null) {
                markDirty(self[0]);
            }
        });
        holder[0] = p;
        pumps.add(p);
        pumpOf.put(tcp, p);
        p.onDone(() -> {
            pumps.remove(p);
            pumpOf.remove(tcp);
        });
        return p;
    }

    private Backend.Conn connectBlocking(int localPort, InetSocketAddress remote, int timeoutMillis,
                                         Backend.Settings settings) throws IOException {
        CompletableFuture<Conn> result = new CompletableFuture<>();
        StreamPump[] holder = new StreamPump[1];
        submit(now -> {
            try {
                startConnect(localPort, remote, settings, holder, p -> p.onSettled(() -> {
                    if (p.error() != null) {
                        result.completeExceptionally(p.error());
                    } else {
                        result.complete(new Conn(p));
                    }
                }));
            } catch (RuntimeException e) {
                result.completeExceptionally(new SocketException(e.getMessage()));
            }
        });
        try {
            return timeoutMillis > 0 ? result.get(timeoutMillis, TimeUnit.MILLISECONDS) : result.get();
        } catch (TimeoutException e) {
            submit(now -> {
                if (holder[0] != null) {
                    holder[0].close(true, now);
                }
            });
            throw new SocketTimeoutException("Connect timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("connect interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new SocketException(String.valueOf(e.getCause()));
        }
    }

    /** Loop: sends the SYN and sets up the connection's pump. */
    private Conn startConnect(int localPort, InetSocketAddress remote, Backend.Settings settings, StreamPump[] holder,
                              java.util.function.Consumer<StreamPump> beforeFirstStep) {
        long now = lastNow;
        int remoteAddr = Ipv4Address.of(remote.getAddress());
        Negotiation n = newNegotiation(true, settings.mode(), remote.getPort());
        OpsecExtension ext = new OpsecExtension(n, pathCache, remoteAddr, () -> lastNow);
        if (pathCache.isBroken(remoteAddr, now)) {
            n.fallBackToPlainSyn();
        }
        ext.onDecision(() -> dirtyOf(holder));
        TcpConnection tcp = endpoint.connect(remoteAddr, remote.getPort(), localPort, ext, now);
        ext.bind(tcp);
        tcp.setEvents(eventsFor(holder));
        reservedPorts.remove(localPort);
        // A socket that asked for them turns these on; otherwise the stack's TcpConfig decides.
        if (settings.noDelay()) {
            tcp.setNoDelay(true, now);
        }
        if (settings.keepAlive()) {
            tcp.setKeepAlive(true, now);
        }
        StreamPump p = newPump(tcp, n, settings, holder);
        beforeFirstStep.accept(p);
        markDirty(p);
        return new Conn(p);
    }

    /** The socket-side face of one connection; every command goes through the loop. */
    private final class Conn implements Backend.Conn {
        private final StreamPump pump;

        Conn(StreamPump pump) {
            this.pump = pump;
        }

        @Override public ByteStream inbound() { return pump.inbound; }
        @Override public ByteStream outbound() { return pump.outbound; }
        @Override public InetSocketAddress localAddress() { return pump.localAddress(); }
        @Override public InetSocketAddress remoteAddress() { return pump.remoteAddress(); }
        @Override public SecurityStatus security() { return pump.status(); }

        @Override
        public void shutdownOutput() {
            pump.outbound.finish();
            submitQuietly(now -> pump.shutdownOutput(now));
        }

        @Override
        public void shutdownInput() {
            submitQuietly(now -> {
                pump.shutdownInput();
                markDirty(pump);
            });
        }

        @Override
        public void close(boolean reset) {
            if (!reset) {
                pump.outbound.finish(); // a reset must not race a FIN out first
            }
            submitQuietly(now -> pump.close(reset, now));
            if (stopped) {
                pump.inbound.close();
                pump.outbound.close();
            }
        }

        @Override
        public void setNoDelay(boolean on) {
            submitQuietly(now -> {
                pump.tcp().setNoDelay(on, now);
                markDirty(pump);
            });
        }

        @Override
        public void setKeepAlive(boolean on) {
            submitQuietly(now -> pump.tcp().setKeepAlive(on, now));
        }
    }

    /** A port for bind(0) or listen(0): random in the ephemeral range, not held by a listener or reservation. */
    private int freePort() {
        for (int i = 0; i < 1000; i++) {
            int p = 49152 + random.nextInt(16384);
            if (!listeners.containsKey(p) && !reservedPorts.contains(p)) {
                return p;
            }
        }
        throw new IllegalStateException("no free port");
    }

    private void submitQuietly(LongConsumer command) {
        if (!stopped) {
            commands.add(command);
            wake();
        }
    }

    // =================================================================== listeners

    /** What {@link OpsecListener} needs from a listener. */
    interface ListenerHandle {
        OpsecConnection pollConnection();

        int port();

        void close();
    }

    private final class ListenerState implements Backend.Listener, ListenerHandle {
        final int port;
        final int backlog;
        final Backend.Settings settings;
        private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
        private final java.util.concurrent.locks.Condition nonEmpty = lock.newCondition();
        private final ArrayDeque<Conn> ready = new ArrayDeque<>();
        volatile TcpListener tcp;
        volatile boolean closed;

        ListenerState(int port, int backlog, Backend.Settings settings) {
            this.port = port;
            this.backlog = backlog;
            this.settings = settings;
        }

        @Override
        public Backend.Conn accept(int timeoutMillis) throws IOException {
            lock.lock();
            try {
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
                while (ready.isEmpty()) {
                    if (closed) {
                        throw new SocketException("Socket closed");
                    }
                    if (timeoutMillis > 0) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            throw new SocketTimeoutException("Accept timed out");
                        }
                        nonEmpty.awaitNanos(left);
                    } else {
                        nonEmpty.await();
                    }
                }
                return ready.poll();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("accept interrupted");
            } finally {
                lock.unlock();
            }
        }

        @Override
        public OpsecConnection pollConnection() {
            lock.lock();
            try {
                Conn c = ready.poll();
                return c == null ? null : new OpsecConnection(c, c.pump);
            } finally {
                lock.unlock();
            }
        }

        /** Loop: a passive connection has settled; queue it for accept() or reset it when full. */
        boolean offer(Conn c) {
            lock.lock();
            try {
                if (closed || ready.size() >= backlog) {
                    return false;
                }
                ready.add(c);
                nonEmpty.signal();
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int port() {
            return port;
        }

        @Override
        public void close() {
            List<Conn> pending;
            lock.lock();
            try {
                closed = true;
                pending = new ArrayList<>(ready);
                ready.clear();
                nonEmpty.signalAll();
            } finally {
                lock.unlock();
            }
            submitQuietly(now -> {
                listeners.remove(port);
                if (tcp != null) {
                    endpoint.closeListener(tcp, now);
                }
                for (Conn c : pending) {
                    c.pump.close(true, now);
                }
            });
        }

        /** Loop: TCP has established connections waiting. */
        void drainAccepts(long now) {
            TcpConnection c;
            while ((c = endpoint.accept(tcp)) != null) {
                OpsecExtension ext = (OpsecExtension) c.extension();
                ext.bind(c);
                StreamPump[] holder = new StreamPump[1];
                ext.onDecision(() -> dirtyOf(holder));
                StreamPump sp = newPump(c, ext.negotiation(), settings, holder);
                c.setEvents(eventsFor(holder));
                sp.onSettled(() -> {
                    if (sp.error() == null && !offer(new Conn(sp))) {
                        sp.close(true, lastNow); // closed, or the backlog of settled connections is full
                    }
                });
                markDirty(sp);
            }
        }
    }

    private Backend.Listener listenBlocking(int port, int backlog, Backend.Settings settings) throws IOException {
        CompletableFuture<ListenerState> result = new CompletableFuture<>();
        submit(now -> startListen(port, backlog, settings, result, now));
        return await(result);
    }

    /** Loop: opens a listener. */
    private void startListen(int port, int backlog, Backend.Settings settings, CompletableFuture<ListenerState> result,
                             long now) {
        int p = port == 0 ? freePort() : port;
        if (listeners.containsKey(p) || reservedPorts.contains(p)) {
            result.completeExceptionally(new BindException("Address already in use"));
            return;
        }
        ListenerState ls = new ListenerState(p, backlog, settings);
        try {
            // Each SYN gets its own negotiation, carried by the connection's extension.
            ls.tcp = endpoint.listen(p, backlog, () -> new OpsecExtension(newNegotiation(false, settings.mode(), p),
                    pathCache, 0, () -> lastNow));
        } catch (IllegalStateException e) {
            result.completeExceptionally(new BindException("Address already in use"));
            return;
        }
        ls.tcp.setOnAcceptable(l -> ls.drainAccepts(lastNow));
        listeners.put(p, ls);
        result.complete(ls);
    }

    private static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new SocketException(String.valueOf(e.getCause()));
        }
    }

    // =================================================================== without blocking

    /**
     * Opens a connection without waiting for it: the handle reports when it is settled. For a
     * stack on a {@linkplain Builder#manualClock() manual clock} call this from the thread that
     * runs {@link #runOnce(long)}.
     *
     * @param mode this connection's OPSEC mode, or {@code null} for the stack's policy
     */
    public OpsecConnection open(InetSocketAddress remote, OpsecMode mode) throws IOException {
        return open(0, remote, mode);
    }

    /**
     * As {@link #open(InetSocketAddress, OpsecMode)}, from a chosen local port (0 for an ephemeral
     * one): two stacks opening to each other's ports at once make a simultaneous open.
     */
    public OpsecConnection open(int localPort, InetSocketAddress remote, OpsecMode mode) throws IOException {
        Backend.Settings settings = new Backend.Settings(mode, false, false, 0, 0);
        CompletableFuture<Conn> made = new CompletableFuture<>();
        LongConsumer cmd = now -> {
            try {
                made.complete(startConnect(localPort, remote, settings, new StreamPump[1], c -> { }));
            } catch (RuntimeException e) {
                made.completeExceptionally(new SocketException(e.getMessage()));
            }
        };
        if (manual) {
            cmd.accept(lastNow);
        } else {
            submit(cmd);
        }
        Conn c = await(made);
        return new OpsecConnection(c, c.pump);
    }

    /** Listens without blocking; see {@link OpsecListener}. {@code mode} null means the policy. */
    public OpsecListener listen(int port, OpsecMode mode) throws IOException {
        Backend.Settings settings = new Backend.Settings(mode, false, false, 0, 0);
        if (manual) {
            CompletableFuture<ListenerState> r = new CompletableFuture<>();
            startListen(port, OpsecServerSocket.DEFAULT_BACKLOG, settings, r, lastNow);
            return new OpsecListener(await(r));
        }
        return new OpsecListener((ListenerState) listenBlocking(port, OpsecServerSocket.DEFAULT_BACKLOG, settings));
    }

    // =================================================================== closing

    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        if (manual) {
            long now = lastNow;
            for (ListenerState l : new ArrayList<>(listeners.values())) {
                l.close();
            }
            for (StreamPump p : new ArrayList<>(pumps)) {
                p.close(true, now);
            }
            runOnce(now);
            stopped = true;
            endpoint.close();
            link.close();
            return;
        }
        CompletableFuture<Void> drained = new CompletableFuture<>();
        submitQuietly(now -> {
            for (ListenerState l : new ArrayList<>(listeners.values())) {
                l.close();
            }
            for (StreamPump p : new ArrayList<>(pumps)) {
                p.close(false, now);
            }
        });
        long deadline = System.nanoTime() + closeGraceNanos;
        while (System.nanoTime() < deadline) {
            CompletableFuture<Boolean> empty = new CompletableFuture<>();
            submitQuietly(now -> empty.complete(pumps.isEmpty()));
            try {
                if (empty.get(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                    break;
                }
            } catch (Exception e) {
                break;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        submitQuietly(now -> {
            for (StreamPump p : new ArrayList<>(pumps)) {
                p.close(true, now);
            }
            runOnce(now);
            endpoint.close();
            drained.complete(null);
        });
        try {
            drained.get(CLOSE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.debug("stack {} did not drain in time", name);
        }
        stopped = true;
        LockSupport.unpark(loop);
        try {
            loop.join(CLOSE_GRACE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        link.close();
    }

    // =================================================================== Backend for sockets

    private final Backend backend = new Backend() {
        @Override
        public InetSocketAddress localAddress(int port) {
            return new InetSocketAddress(Ipv4Address.toInet(address), port);
        }

        @Override
        public int reservePort(int port) throws IOException {
            CompletableFuture<Integer> r = new CompletableFuture<>();
            submit(now -> {
                int p = port == 0 ? freePort() : port;
                if (listeners.containsKey(p) || !reservedPorts.add(p)) {
                    r.completeExceptionally(new BindException("Address already in use"));
                } else {
                    r.complete(p);
                }
            });
            return await(r);
        }

        @Override
        public void releasePort(int port) {
            reservedPorts.remove(port);
        }

        @Override
        public Backend.Conn connect(int localPort, InetSocketAddress remote, int timeoutMillis, Settings settings)
                throws IOException {
            return connectBlocking(localPort, remote, timeoutMillis, settings);
        }

        @Override
        public Backend.Listener listen(int port, int backlog, Settings settings) throws IOException {
            return listenBlocking(port, backlog, settings);
        }
    };

    private final class Sockets extends SocketFactory {
        @Override
        public Socket createSocket() throws IOException {
            return new OpsecSocket(backend);
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            Socket s = createSocket();
            s.connect(new InetSocketAddress(host, port));
            return s;
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            Socket s = createSocket();
            s.bind(new InetSocketAddress(localHost, localPort));
            s.connect(new InetSocketAddress(host, port));
            return s;
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            Socket s = createSocket();
            s.connect(new InetSocketAddress(host, port));
            return s;
        }

        @Override
        public Socket createSocket(InetAddress host, int port, InetAddress localAddress, int localPort)
                throws IOException {
            Socket s = createSocket();
            s.bind(new InetSocketAddress(localAddress, localPort));
            s.connect(new InetSocketAddress(host, port));
            return s;
        }
    }

    private final class ServerSockets extends ServerSocketFactory {
        @Override
        public ServerSocket createServerSocket() throws IOException {
            return new OpsecServerSocket(backend);
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return createServerSocket(port, OpsecServerSocket.DEFAULT_BACKLOG);
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
            OpsecServerSocket s = new OpsecServerSocket(backend);
            s.bind(new InetSocketAddress(port), backlog);
            return s;
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
            OpsecServerSocket s = new OpsecServerSocket(backend);
            s.bind(new InetSocketAddress(ifAddress, port), backlog);
            return s;
        }
    }

    // =================================================================== builder

    /** Builds an {@link OpsecStack}. {@link #address} and {@link #link} are required. */
    public static final class Builder {
        private int address;
        private boolean addressSet;
        private Link link;
        private TcpConfig tcpConfig = TcpConfig.defaults();
        private OpsecPolicy policy = OpsecPolicy.defaults();
        private final List<SecurityProtocol> protocols = new ArrayList<>();
        private int literalKind = -1;
        private ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        private RandomGenerator random = new SecureRandom();
        private byte[] isnSecret;
        private String name;
        private boolean manual;
        private Duration closeGrace = CLOSE_GRACE;

        private Builder() {}

        /** This host's IPv4 address, such as "198.18.0.1". */
        public Builder address(String dotted) {
            this.address = Ipv4Address.parse(dotted);
            this.addressSet = true;
            return this;
        }

        /** This host's IPv4 address. */
        public Builder address(InetAddress a) {
            this.address = Ipv4Address.of(a);
            this.addressSet = true;
            return this;
        }

        /** The link the host sends and receives on; the stack owns it from then on and closes it. */
        public Builder link(Link link) {
            this.link = Objects.requireNonNull(link);
            return this;
        }

        /** TCP settings (buffer sizes, timers, congestion control...). */
        public Builder tcp(TcpConfig config) {
            this.tcpConfig = Objects.requireNonNull(config);
            return this;
        }

        /** Which ports use OPSEC by default. */
        public Builder policy(OpsecPolicy policy) {
            this.policy = Objects.requireNonNull(policy);
            return this;
        }

        /** Shorthand for {@code policy(OpsecPolicy.everywhere(mode))}. */
        public Builder opsecMode(OpsecMode mode) {
            return policy(OpsecPolicy.everywhere(mode));
        }

        /**
         * A security protocol to offer (in preference order, first most preferred). Without any,
         * the protocols installed with {@link java.util.ServiceLoader} are used.
         */
        public Builder securityProtocol(SecurityProtocol p) {
            protocols.add(Objects.requireNonNull(p));
            return this;
        }

        /** Uses the draft's literal OPSEC framing on {@code kind} instead of kind 253 with ExID 0x05EC. */
        public Builder literalOpsecKind(int kind) {
            this.literalKind = kind;
            return this;
        }

        /** The buffer allocator (pooled by default). */
        public Builder allocator(ByteBufAllocator alloc) {
            this.alloc = Objects.requireNonNull(alloc);
            return this;
        }

        /** Randomness for ephemeral ports (RFC 6056); tests pass a seeded one. */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random);
            return this;
        }

        /** The 32-byte secret of the ISN hash (RFC 6528); random by default, fixed in tests. */
        public Builder isnSecret(byte[] secret) {
            if (secret.length != 32) {
                throw new IllegalArgumentException("the ISN secret is 32 bytes, not " + secret.length);
            }
            this.isnSecret = secret.clone();
            return this;
        }

        /** A name for the thread and logs. */
        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /**
         * How long {@link OpsecStack#close()} lets connections end gracefully (queued bytes sent and
         * acknowledged, FINs exchanged) before it resets them; {@link OpsecStack#CLOSE_GRACE} by default. A
         * process that owns its stack and exits after closing it (such as {@code opsec nc}) needs
         * more on a slow path: the kernel would go on sending after {@code close()}, this stack
         * cannot once its owner is gone.
         */
        public Builder closeGrace(Duration grace) {
            if (grace.isNegative()) {
                throw new IllegalArgumentException("negative close grace " + grace);
            }
            this.closeGrace = grace;
            return this;
        }

        /** No thread: the owner calls {@link OpsecStack#runOnce(long)} with its own (virtual) clock. */
        public Builder manualClock() {
            this.manual = true;
            return this;
        }

        public OpsecStack build() {
            if (!addressSet) {
                throw new IllegalStateException("an OpsecStack needs an address");
            }
            if (link == null) {
                throw new IllegalStateException("an OpsecStack needs a link");
            }
            return new OpsecStack(this);
        }
    }
}
