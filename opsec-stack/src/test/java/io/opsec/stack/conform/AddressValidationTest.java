package io.opsec.stack.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RFC 9293 address validation (§3.9.1.1 and §3.10.7.2; Appendix B MUST-46, MUST-57, MUST-63;
 * RFC 1122 §4.2.3.10 and §3.2.1.3), which the packet scripts cannot express since their peer has
 * one fixed address. The endpoint at 10.0.0.1 knows its prefix (/24) in the tests that need the
 * directed broadcast 10.0.0.255.
 */
class AddressValidationTest {
    static final int LOCAL = Ipv4Address.parse("10.0.0.1");
    TcpEndpoint ep = endpoint(TcpConfig.defaults());

    static TcpEndpoint endpoint(TcpConfig cfg) {
        byte[] secret = new byte[32];
        Arrays.fill(secret, (byte) 9);
        return new TcpEndpoint(LOCAL, cfg, secret, new SplittableRandom(3), UnpooledByteBufAllocator.DEFAULT);
    }

    @AfterEach
    void close() {
        ep.close();
        for (ByteBuf p; (p = ep.pollTransmit()) != null; ) {
            p.release();
        }
    }

    void deliver(String src, String dst, int flags) {
        TcpHeader h = new TcpHeader(40000, 80, 1000, 77, 0, flags, 65535, 0, 0, List.of(new TcpOption.Mss(1460)));
        ByteBuf pkt = UnpooledByteBufAllocator.DEFAULT.buffer();
        TcpSegment.emit(pkt, Ipv4Address.parse(src), Ipv4Address.parse(dst), 0, h, null);
        ep.receive(pkt, 0L);
    }

    /** MUST-46: an OPEN to a broadcast or multicast address MUST be rejected. */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "239.1.2.3", "0.0.0.0"})
    void connect_toBroadcastOrMulticast_isRejected(String dst) {
        assertThrows(IllegalArgumentException.class, () -> ep.connect(Ipv4Address.parse(dst), 80, 0, 0L),
                "connect to " + dst);
        assertEquals(0, ep.connectionCount());
        assertNull(ep.pollTransmit(), "no SYN sent to " + dst);
    }

    /** MUST-46 for the local subnet's directed broadcast, once the endpoint knows its prefix. */
    @Test
    void connect_toTheSubnetsDirectedBroadcast_isRejectedWhenThePrefixIsKnown() {
        ep.close();
        ep = endpoint(TcpConfig.builder().localPrefixLength(24).build());
        assertThrows(IllegalArgumentException.class, () -> ep.connect(Ipv4Address.parse("10.0.0.255"), 80, 0, 0L));
        // Another subnet's .255 is an ordinary host as far as this endpoint can tell.
        assertNotNull(ep.connect(Ipv4Address.parse("10.0.1.255"), 80, 0, 0L));
    }

    /** Without a known prefix the endpoint cannot tell a directed broadcast from a host. */
    @Test
    void connect_toADotTwoFiftyFiveAddress_isAllowedWhenThePrefixIsUnknown() {
        assertNotNull(ep.connect(Ipv4Address.parse("10.0.0.255"), 80, 0, 0L));
    }

    /** MUST-63: a SYN from a broadcast or multicast source MUST be rejected (silently). */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "0.0.0.0", "0.1.2.3"})
    void synFromInvalidSource_isDroppedSilently(String src) {
        ep.listen(80, 8);
        deliver(src, "10.0.0.1", TcpFlags.SYN);
        assertEquals(0, ep.connectionCount(), "connections after a SYN from " + src);
        assertNull(ep.pollTransmit(), "answered a SYN from " + src);
        assertEquals(1, ep.stats().badSourceAddress());
    }

    /** The subnet's directed broadcast as a source, with the prefix known (RFC 1122 §3.2.1.3 (e)). */
    @Test
    void synFromTheSubnetsDirectedBroadcast_isDroppedSilently() {
        ep.close();
        ep = endpoint(TcpConfig.builder().localPrefixLength(24).build());
        ep.listen(80, 8);
        deliver("10.0.0.255", "10.0.0.1", TcpFlags.SYN);
        assertEquals(0, ep.connectionCount());
        assertNull(ep.pollTransmit());
        assertEquals(1, ep.stats().badSourceAddress());
    }

    /** No RST goes to a broadcast or multicast address either, for any segment from one. */
    @ParameterizedTest
    @ValueSource(ints = {TcpFlags.ACK, TcpFlags.ACK | TcpFlags.FIN, TcpFlags.SYN | TcpFlags.ACK, 0})
    void segmentFromMulticastSource_isNeverAnsweredWithARst(int flags) {
        ep.listen(80, 8);
        deliver("224.0.0.9", "10.0.0.1", flags); // to the listener's port
        TcpHeader h = new TcpHeader(40000, 81, 1000, 77, 0, flags, 65535, 0, 0, List.of());
        ByteBuf pkt = UnpooledByteBufAllocator.DEFAULT.buffer();
        TcpSegment.emit(pkt, Ipv4Address.parse("255.255.255.255"), LOCAL, 0, h, null);
        ep.receive(pkt, 0L); // to a closed port
        assertNull(ep.pollTransmit());
        assertEquals(0, ep.stats().rstsSent());
    }

    /** MUST-57: a segment to a broadcast or multicast address is discarded silently. */
    @ParameterizedTest
    @ValueSource(strings = {"255.255.255.255", "224.0.0.1", "10.0.0.255"})
    void synToBroadcastOrMulticast_isDiscardedSilently(String dst) {
        ep.listen(80, 8);
        deliver("10.0.0.2", dst, TcpFlags.SYN);
        assertEquals(0, ep.connectionCount());
        assertNull(ep.pollTransmit());
    }
}
