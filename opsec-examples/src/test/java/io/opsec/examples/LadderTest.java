package io.opsec.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.util.List;
import org.junit.jupiter.api.Test;

class LadderTest {
    private static final int C = Ipv4Address.parse("198.18.0.1");
    private static final int S = Ipv4Address.parse("198.18.0.2");

    private static String line(Ladder l, int src, int dst, TcpHeader h, long nanos) {
        ByteBuf b = Unpooled.buffer();
        try {
            TcpSegment.emit(b, src, dst, 0, h, null);
            return l.line(b, nanos, TcpOptions.Codec.DEFAULT);
        } finally {
            b.release();
        }
    }

    @Test
    void handshake_showsRelativeNumbersAndLabelsOpsecRoles() {
        Ladder l = new Ladder(C, 0);
        assertEquals("     0.000  SYN seq 0 win 65535 <mss 1460, OPSEC proposal [tls]> --->",
                line(l, C, S, TcpHeader.of(49152, 7, 0xfffffff0, 0, TcpFlags.SYN, 65535,
                        List.of(new TcpOption.Mss(1460), OpsecOption.experimental(0))), 0));
        assertEquals("     0.250  <--- SYN-ACK seq 0 ack 1 win 65535 <OPSEC selection [tls]>",
                line(l, S, C, TcpHeader.of(7, 49152, 12345, 0xfffffff1, TcpFlags.SYN | TcpFlags.ACK, 65535,
                        List.of(OpsecOption.experimental(0))), 250_000));
        assertEquals("     0.500  ACK seq 1 ack 1 win 512 <OPSEC echo [tls]> --->",
                line(l, C, S, TcpHeader.of(49152, 7, 0xfffffff1, 12346, TcpFlags.ACK, 512,
                        List.of(OpsecOption.experimental(0))), 500_000));
    }

    @Test
    void sackBlocks_areRelativeToThePeersIsn() {
        Ladder l = new Ladder(C, 0);
        line(l, S, C, TcpHeader.of(7, 49152, 1000, 0, TcpFlags.SYN, 100, List.of()), 0);
        assertEquals("     0.000  ACK seq 0 ack 101 win 100 <sack 201-301> --->",
                line(l, C, S, TcpHeader.of(49152, 7, 0, 1101, TcpFlags.ACK, 100, List.of(
                        new TcpOption.Sack(List.of(new TcpOption.SackBlock(1201, 1301))))), 0));
    }

    @Test
    void garbage_isShownWithItsReason() {
        Ladder l = new Ladder(C, 0);
        ByteBuf b = Unpooled.wrappedBuffer(new byte[] {0x60, 0, 0});
        try {
            assertEquals("     0.000  (unparseable packet: IP_TRUNCATED (shorter than an IPv4 header: 3 bytes))",
                    l.line(b, 0, TcpOptions.Codec.DEFAULT));
        } finally {
            b.release();
        }
    }
}
