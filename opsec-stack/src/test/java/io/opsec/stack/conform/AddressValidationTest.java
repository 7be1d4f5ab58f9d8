package io.opsec.stack.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.opsec.stack.tcp.TcpConfig;
import io.opsec.stack.tcp.TcpEndpoint;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpSegment;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.AssertionFailedError;

/**
 * RFC 9293 address validation (§3.9.1.1 and §3.10.7.2; Appendix B MUST-46, MUST-57, MUST-63),
 * which the packet scripts cannot express since their peer has one fixed address. The engine does
 * not check addresses yet: the failing rules are reported as known failures (aborted, not failed)
 * and listed in docs/conformance.md.
 */
class AddressValidationTest {
    static final int LOCAL = Ipv4Address.parse("10.0.0.1");
    final TcpEndpoint ep;

    AddressValidationTest() {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 9);
        ep = new TcpEndpoint(LOCAL, TcpConfig.defaults(), secret, new SplittableRandom(3), UnpooledByteBufAllocator.DEFAULT);
    }

    @AfterEach
    void close() {
        ep.close();
        for (ByteBuf p; (p = ep.pollTransmit()) != null; ) {
            p.release();
        }
    }

    static void knownFailure(String reason, Runnable check) {
        try {
            check.run();
        } catch (AssertionFailedError e) {
            Assumptions.abort("KNOWN FAILURE: " + reason + " (" + e.getMessage() + ")");
        }
        Assumptions.abort("marked as a known failure (" + reason + ") but passes now: remove the marker");
    }

    /** MUST-46: an OPEN to a broadcast or multicast address MUST be rejected. */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "239.1.2.3"})
    void connect_toBroadcastOrMulticast_isRejected(String dst) {
        knownFailure("connect() accepts broadcast and multicast destinations (MUST-46)", () -> {
            assertThrows(IllegalArgumentException.class,
                    () -> ep.connect(Ipv4Address.parse(dst), 80, 0, 0L), "connect to " + dst);
        });
    }

    /** MUST-63: a SYN from a broadcast or multicast source MUST be rejected (silently). */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "0.0.0.0"})
    void synFromInvalidSource_isDroppedSilently(String src) {
        ep.listen(80, 8);
        TcpHeader h = new TcpHeader(40000, 80, 1000, 0, 0, TcpFlags.SYN, 65535, 0, 0, List.of(new TcpOption.Mss(1460)));
        ByteBuf pkt = UnpooledByteBufAllocator.DEFAULT.buffer();
        TcpSegment.emit(pkt, Ipv4Address.parse(src), LOCAL, 0, h, null);
        ep.receive(pkt, 0L);
        int connections = ep.connectionCount();
        ByteBuf answer = ep.pollTransmit();
        boolean answered = answer != null;
        if (answer != null) {
            answer.release();
        }
        knownFailure("a SYN from " + src + " is answered and opens a half-open connection (MUST-63)", () -> {
            assertEquals(0, connections, "connections after a SYN from " + src);
            assertEquals(false, answered, "answered a SYN from " + src);
        });
    }

    /** MUST-57: a segment to a broadcast or multicast address is discarded silently (met). */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "10.0.0.255"})
    void synToBroadcastOrMulticast_isDiscardedSilently(String dst) {
        ep.listen(80, 8);
        TcpHeader h = new TcpHeader(40000, 80, 1000, 0, 0, TcpFlags.SYN, 65535, 0, 0, List.of());
        ByteBuf pkt = UnpooledByteBufAllocator.DEFAULT.buffer();
        TcpSegment.emit(pkt, Ipv4Address.parse("10.0.0.2"), Ipv4Address.parse(dst), 0, h, null);
        ep.receive(pkt, 0L);
        assertEquals(0, ep.connectionCount());
        assertNull(ep.pollTransmit());
    }
}
