package io.opsec.tls;

import static io.opsec.tls.Fixtures.established;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.opsec.SecuritySession;

/**
 * A rough in-memory throughput figure per suite (one thread encrypts, then decrypts): 64 MiB
 * through sendFromApplication / pollNetworkOutput / receiveFromNetwork / pollApplicationInput
 * in 16 KiB writes. Not a benchmark harness; run by hand:
 * {@code mvn -B -q -pl opsec-tls -am verify -Dtest=TlsThroughputTest -Dtest.excludedGroups= -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("slow-manual")
class TlsThroughputTest {

    @ParameterizedTest(name = "suite 0x{0}")
    @ValueSource(strings = {"00A6", "00A7", "0034", "003A", "006C", "006D"})
    void throughput(String hex) throws Exception {
        int suite = Integer.parseInt(hex, 16);
        TlsSecurityProtocol p = TlsSecurityProtocol.builder().cipherSuites(suite).build();
        Pump pump = established(p, p);
        SecuritySession c = pump.client;
        SecuritySession s = pump.server;
        PooledByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        ByteBuf chunk = alloc.buffer(16384).writeZero(16384);
        long total = 0;
        long target = 64L << 20;
        long start = 0;
        try {
            for (int round = 0; round < 2; round++) { // first round warms up
                total = 0;
                start = System.nanoTime();
                while (total < target) {
                    chunk.readerIndex(0);
                    c.sendFromApplication(chunk);
                    ByteBuf wire = c.pollNetworkOutput(alloc);
                    try {
                        s.receiveFromNetwork(wire);
                    } finally {
                        wire.release();
                    }
                    ByteBuf plain = s.pollApplicationInput(alloc);
                    total += plain.readableBytes();
                    plain.release();
                }
            }
        } finally {
            chunk.release();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("THROUGHPUT %s %s: %.0f MiB/s%n", hex, CipherSuites.name(suite), total / seconds / (1 << 20));
        assertEquals(target, total);
    }
}
