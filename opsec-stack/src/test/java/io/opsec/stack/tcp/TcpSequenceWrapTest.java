package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.FIN;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every rule across 2^32: ISNs just below the wrap on both sides (STYLE.md habit 3). */
class TcpSequenceWrapTest {

    @ParameterizedTest
    @ValueSource(ints = {0xFFFFF000, 0xFFFFFFFF, 0x7FFFF000, 0})
    void dataBothWays_acrossTheWrap(int isn) {
        try (TcpFixture f = new TcpFixture(TcpConfig.defaults(), isn, isn - 2000).established()) {
            f.conn.setNoDelay(true, at(0));
            // Ours: 8 segments from ISS + 1, across 2^32 for the first two ISNs.
            f.send(at(10), 8 * 1460);
            for (int i = 0; i < 8; i++) {
                f.expect(at(10), f.seg().seq(f.iss + 1 + i * 1460).len(1460));
            }
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 8 * 1460));
            assertEquals(0, f.conn.unacknowledgedBytes());
            // Theirs: 6 segments, the third one first (out of order across the wrap).
            byte[] all = new byte[6 * 1000];
            for (int i = 0; i < all.length; i++) all[i] = (byte) (i * 7);
            int[] order = {2, 0, 1, 3, 5, 4};
            for (int k : order) {
                byte[] part = java.util.Arrays.copyOfRange(all, k * 1000, (k + 1) * 1000);
                f.deliver(at(30 + k), f.seg().seq(f.remoteIss + 1 + k * 1000).ack(f.iss + 1 + 8 * 1460).payload(part));
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            got.writeBytes(f.read(at(40), 100_000));
            assertArrayEquals(all, got.toByteArray());
            f.drain();
            // RFC 5961 still exact at the wrap: an off-by-one RST is challenged, the exact one resets.
            f.deliver(at(50), f.seg().flags(RST).seq(f.remoteIss + 1 + 6000 + 1));
            f.expect(at(50), f.seg().flags(ACK).seq(f.iss + 1 + 8 * 1460).ack(f.remoteIss + 1 + 6000));
            f.deliver(at(51), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1 + 6000).ack(f.iss + 1 + 8 * 1460));
            f.expect(at(51), f.seg().flags(ACK).ack(f.remoteIss + 6002));
            f.assertState(TcpState.CLOSE_WAIT);
            f.conn.close(at(52));
            f.expect(at(52), f.seg().flags(FIN | ACK).seq(f.iss + 1 + 8 * 1460));
            f.deliver(at(53), f.seg().seq(f.remoteIss + 6002).ack(f.iss + 2 + 8 * 1460));
            f.assertState(TcpState.CLOSED);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0xFFFFFFF0, 0xFFFFFFFF})
    void retransmissionAndFastRecovery_acrossTheWrap(int isn) {
        try (TcpFixture f = new TcpFixture(TcpConfig.defaults(), isn, 77).established()) {
            f.send(at(10), 5 * 1460);
            f.drain();
            // One new ACK, then three duplicates of it.
            for (int i = 0; i < 4; i++) {
                f.deliver(at(20 + i), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 1460));
            }
            f.expect(at(23), f.seg().seq(f.iss + 1 + 1460).len(1460));
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 5 * 1460));
            f.expectNothing(at(5000));
        }
    }
}
