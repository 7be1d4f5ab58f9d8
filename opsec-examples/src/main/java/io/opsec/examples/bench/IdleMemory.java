package io.opsec.examples.bench;

import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.OpsecConnection;
import io.opsec.stack.OpsecListener;
import io.opsec.stack.link.Impairments;
import io.opsec.stack.link.MemoryLink;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Memory per idle established connection: two stacks in this process open {@code count}
 * connections (through the non-blocking API, in batches) and leave them idle; the figure is the
 * growth of live memory after GC, divided by {@code 2 * count} connection ends (each connection
 * has an end in each stack, so this is what one stack pays per connection it holds). Live memory
 * is the Java heap after GC plus Netty's pooled memory in use plus JDK direct buffers, so a
 * buffer cannot hide off the heap.
 */
final class IdleMemory {
    /** Bytes per connection end, and how many connection ends fit in 1 GiB. */
    record Result(int connections, double bytesPerEnd) {
        double perGib() {
            return (1L << 30) / bytesPerEnd;
        }
    }

    private IdleMemory() {}

    static Result run(int suite, int count, long deadlineNanos) throws IOException {
        MemoryLink.Pair wire = MemoryLink.builder().mtu(1500).impairments(Impairments.NONE).build();
        try (Endpoints.Stacks st = Endpoints.Stacks.on(wire.a(), wire.b(), 1500, suite);
             OpsecListener listener = st.server.listen(Endpoints.PORT, null)) {
            List<OpsecConnection> clients = new ArrayList<>(count);
            List<OpsecConnection> servers = new ArrayList<>(count);
            // Open and settle one connection, so lazily built shared state is in the baseline.
            open(st, listener, 1, clients, servers, deadlineNanos);
            long before = liveBytes();
            int batch = 25; // under the listener's backlog (50): a SYN beyond it is refused
            for (int done = 0; done < count; done += batch) {
                open(st, listener, Math.min(batch, count - done), clients, servers, deadlineNanos);
            }
            long after = liveBytes();
            int n = clients.size() - 1;
            double per = (after - before) / (2.0 * n);
            for (OpsecConnection c : clients) {
                c.abort();
            }
            return new Result(n, per);
        }
    }

    private static void open(Endpoints.Stacks st, OpsecListener listener, int n, List<OpsecConnection> clients,
                             List<OpsecConnection> servers, long deadlineNanos) throws IOException {
        InetSocketAddress to = new InetSocketAddress(Endpoints.SERVER, Endpoints.PORT);
        List<OpsecConnection> fresh = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            fresh.add(st.client.open(to, null));
        }
        int accepted = 0;
        while (true) {
            OpsecConnection s;
            while ((s = listener.poll()) != null) {
                servers.add(s);
                accepted++;
            }
            boolean settled = accepted >= n;
            for (OpsecConnection c : fresh) {
                if (c.isDone()) {
                    throw new IOException("an idle connection failed: " + c.error());
                }
                settled &= c.isSettled();
            }
            if (settled) {
                break;
            }
            if (System.nanoTime() > deadlineNanos) {
                throw new IOException("opening idle connections over its time budget after " + clients.size());
            }
            sleepMillis(1);
        }
        clients.addAll(fresh);
    }

    /** Heap after GC, plus Netty pooled memory in use, plus JDK direct and mapped buffers. */
    static long liveBytes() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            sleepMillis(100);
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            direct += b.getMemoryUsed();
        }
        // Netty's direct arenas show in the JDK's figure only when Netty allocates through it;
        // take Netty's own count when it is larger. Its heap arenas are already in the heap.
        long nettyDirect = PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
        return heap + Math.max(direct, nettyDirect);
    }

    private static void sleepMillis(long ms) {
        try {
            TimeUnit.MILLISECONDS.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
