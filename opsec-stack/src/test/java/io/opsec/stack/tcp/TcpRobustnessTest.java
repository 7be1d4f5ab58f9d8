package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.at;

import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input in every state: thousands of seeded random segments (flags, sequence and
 * acknowledgment numbers near and far from the window, options, payloads) mixed with random
 * user calls and time steps. The engine must never throw, and must release every buffer.
 */
class TcpRobustnessTest {

    static List<Object[]> cases() {
        List<Object[]> out = new ArrayList<>();
        String[] names = {"listening", "synReceived", "synSent", "established", "establishedActive", "finWait1",
                "finWait2", "closeWait", "lastAck", "closing", "timeWait"};
        for (String n : names) {
            for (long seed = 1; seed <= 4; seed++) {
                out.add(new Object[] {n, seed});
            }
        }
        return out;
    }

    static Function<TcpFixture, TcpFixture> reach(String name) {
        return switch (name) {
            case "listening" -> TcpFixture::listening;
            case "synReceived" -> TcpFixture::synReceived;
            case "synSent" -> TcpFixture::synSent;
            case "established" -> TcpFixture::established;
            case "establishedActive" -> TcpFixture::establishedActive;
            case "finWait1" -> TcpFixture::finWait1;
            case "finWait2" -> TcpFixture::finWait2;
            case "closeWait" -> TcpFixture::closeWait;
            case "lastAck" -> TcpFixture::lastAck;
            case "closing" -> TcpFixture::closing;
            default -> TcpFixture::timeWait;
        };
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void randomSegmentsAndCalls_neverThrowNorLeak(String state, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        TcpConfig cfg = TcpConfig.builder().receiveBufferSize(8192 + r.nextInt(65536))
                .sendBufferSize(4096 + r.nextInt(65536)).build();
        try (TcpFixture f = reach(state).apply(new TcpFixture(cfg))) {
            long t = 1;
            int[] flagChoices = {0x10, 0x18, 0x11, 0x02, 0x12, 0x04, 0x14, 0x01, 0x00, 0x3F, 0x20 | 0x10, 0xFF};
            for (int i = 0; i < 400; i++) {
                t += r.nextInt(3) == 0 ? r.nextInt(3000) : r.nextInt(5);
                TcpFixture.Seg s = f.seg().flags(flagChoices[r.nextInt(flagChoices.length)]);
                int near = r.nextInt(4);
                int base = f.remoteIss + 1 + (near == 0 ? r.nextInt() : r.nextInt(70_000) - 2_000);
                s.seq(base);
                s.ack(r.nextInt(4) == 0 ? r.nextInt() : f.iss + r.nextInt(20_000) - 2_000);
                s.win(r.nextInt(4) == 0 ? 0 : r.nextInt(65536));
                if (r.nextInt(3) == 0) {
                    s.len(r.nextInt(3000));
                }
                if (r.nextInt(4) == 0) {
                    s.urgent(r.nextInt(65536));
                }
                s.opts(randomOptions(r, f));
                f.deliver(at(t), s);
                if (f.conn == null && f.listener != null) {
                    TcpConnection c = f.ep.accept(f.listener);
                    if (c != null) {
                        f.conn = c;
                    }
                }
                if (f.conn != null) {
                    switch (r.nextInt(12)) {
                        case 0 -> f.send(at(t), r.nextInt(5000));
                        case 1 -> f.read(at(t), r.nextInt(5000));
                        case 2 -> f.conn.shutdownOutput(at(t));
                        case 3 -> { if (r.nextInt(10) == 0) f.conn.close(at(t)); }
                        case 4 -> { if (r.nextInt(30) == 0) f.conn.abort(at(t)); }
                        case 5 -> f.conn.setNoDelay(r.nextBoolean(), at(t));
                        case 6 -> f.conn.setKeepAlive(r.nextBoolean(), 1_000_000_000L, 100_000_000L, 2, at(t));
                        default -> { }
                    }
                }
                f.drain();
            }
            f.advance(at(t + 600_000));
            f.drain();
        }
    }

    static List<TcpOption> randomOptions(SplittableRandom r, TcpFixture f) {
        List<TcpOption> o = new ArrayList<>();
        int n = r.nextInt(4);
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(8)) {
                case 0 -> o.add(new TcpOption.Mss(r.nextInt(65536)));
                case 1 -> o.add(new TcpOption.WindowScale(r.nextInt(256)));
                case 2 -> o.add(new TcpOption.SackPermitted());
                case 3 -> o.add(new TcpOption.Timestamps(r.nextInt(), r.nextInt()));
                case 4 -> {
                    int left = f.iss + r.nextInt(30_000) - 1000;
                    o.add(new TcpOption.Sack(List.of(new TcpOption.SackBlock(left, left + r.nextInt(5000) - 100))));
                }
                case 5 -> o.add(OpsecOption.experimental(r.nextInt(256)));
                case 6 -> o.add(new TcpOption.Nop());
                default -> o.add(new TcpOption.Unknown(30 + r.nextInt(200), new byte[r.nextInt(6)]));
            }
        }
        while (io.opsec.stack.wire.TcpOptions.paddedLength(o) > 40) {
            o.remove(o.size() - 1);
        }
        return o;
    }
}
