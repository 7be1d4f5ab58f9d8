package io.opsec.stack.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer target for the TCP option parser alone ({@code TcpOptions.parse}), the code that reads
 * the most attacker-chosen structure in a segment. For any option area of 0..40 bytes, under both
 * OPSEC codecs (experimental framing; literal framing on kind 200):
 * <ul>
 *   <li>parsing never throws and leaves the buffer untouched;</li>
 *   <li>accepted options re-emit in canonical form within 40 bytes, parse back to the same
 *       canonical list, and emitting that again gives the same bytes (a fixed point);</li>
 *   <li>every OPSEC option accepted under a codec has the framing that codec allows.</li>
 * </ul>
 * Replays {@code TcpOptionsFuzzTestInputs/parse/} in every build; fuzzes with {@code JAZZER_FUZZ=1}.
 */
class TcpOptionsFuzzTest {
    private static final List<TcpOptions.Codec> CODECS = List.of(TcpOptions.Codec.DEFAULT, TcpOptions.Codec.literal(200));

    @BeforeAll
    static void fastReplay() {
        JazzerReplay.fastReplay();
    }

    @AfterAll
    static void restore() {
        JazzerReplay.restore();
    }

    @FuzzTest(maxDuration = "10m")
    void parse(byte[] area) {
        int len = Math.min(area.length, TcpOptions.MAX_LENGTH);
        ByteBuf in = Unpooled.wrappedBuffer(area);
        try {
            for (TcpOptions.Codec codec : CODECS) {
                int reader = in.readerIndex();
                ParseResult<List<TcpOption>> r;
                try {
                    r = TcpOptions.parse(in, 0, len, codec);
                } catch (RuntimeException e) {
                    throw new AssertionError("parse threw for " + len + " bytes under " + codec, e);
                }
                assertEquals(reader, in.readerIndex(), "parse moved the reader index");
                if (r instanceof ParseResult.Err<List<TcpOption>>) {
                    continue;
                }
                List<TcpOption> canonical = TcpOptions.canonical(r.value());
                for (TcpOption o : canonical) {
                    if (o instanceof io.opsec.stack.wire.OpsecOption op
                            && op.framing() == io.opsec.stack.wire.OpsecOption.Framing.LITERAL
                            && op.kind() != codec.literalKind()) {
                        fail("literal OPSEC option of kind " + op.kind() + " accepted under " + codec);
                    }
                }
                int padded = TcpOptions.paddedLength(canonical);
                assertTrue(padded <= TcpOptions.MAX_LENGTH, "canonical form " + canonical + " needs " + padded);
                ByteBuf once = Unpooled.buffer();
                ByteBuf twice = Unpooled.buffer();
                try {
                    TcpOptions.emit(canonical, once);
                    ParseResult<List<TcpOption>> back = TcpOptions.parse(once, 0, once.readableBytes(), codec);
                    if (back instanceof ParseResult.Err<List<TcpOption>> err) {
                        fail("canonical " + canonical + " does not parse back: " + err);
                    }
                    List<TcpOption> again = TcpOptions.canonical(back.value());
                    assertEquals(canonical, again, "round trip");
                    TcpOptions.emit(again, twice);
                    assertEquals(once, twice, "emission is a fixed point");
                } finally {
                    once.release();
                    twice.release();
                }
            }
        } finally {
            in.release();
        }
    }
}
