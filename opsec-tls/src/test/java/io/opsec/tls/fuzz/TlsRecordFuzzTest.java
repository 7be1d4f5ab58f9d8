package io.opsec.tls.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;
import io.opsec.tls.TlsSecurityProtocol;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Jazzer target: bytes from a hostile peer into {@link io.opsec.tls.TlsSecuritySession} through
 * {@link SecuritySession#receiveFromNetwork}, in three positions:
 * <ol>
 *   <li>a fresh server (the input stands for a ClientHello flight);</li>
 *   <li>a client that has sent its ClientHello (the input stands for the server's flight);</li>
 *   <li>an established session: a genuine application record from the peer with input-chosen
 *       bytes flipped, followed by input bytes as further records.</li>
 * </ol>
 * Whatever the bytes and however they are split, the session either accepts them or fails with a
 * {@link SecurityFailure}; it never throws anything else, a failed session keeps failing, and an
 * established session never delivers plaintext other than what the genuine peer sent (a flipped
 * record must fail its MAC). Replays {@code TlsRecordFuzzTestInputs/receive/} in every build;
 * fuzzes with {@code JAZZER_FUZZ=1}.
 */
class TlsRecordFuzzTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("198.18.0.1", 40000);
    private static final InetSocketAddress SERVER = new InetSocketAddress("198.18.0.2", 7);
    private static final ByteBufAllocator ALLOC = UnpooledByteBufAllocator.DEFAULT;
    private static final TlsSecurityProtocol TLS = new TlsSecurityProtocol();
    private static final byte[] HELLO = "hello over OPSEC".getBytes(StandardCharsets.US_ASCII);
    private static final String HOOKS = "jazzer.hooks";
    private static String savedHooks;

    @BeforeAll
    static void fastReplay() {
        String fuzz = System.getenv("JAZZER_FUZZ");
        savedHooks = System.getProperty(HOOKS);
        if ((fuzz == null || fuzz.isEmpty()) && savedHooks == null) {
            System.setProperty(HOOKS, "false");
        }
    }

    @AfterAll
    static void restore() {
        if (savedHooks == null) {
            System.clearProperty(HOOKS);
        }
    }

    private static SecuritySession client() {
        return TLS.newSession(new SecurityContext(SecurityContext.Role.CLIENT, CLIENT, SERVER));
    }

    private static SecuritySession server() {
        return TLS.newSession(new SecurityContext(SecurityContext.Role.SERVER, SERVER, CLIENT));
    }

    private static byte[] take(SecuritySession s) {
        ByteBuf b = s.pollNetworkOutput(ALLOC);
        if (b == null) {
            return new byte[0];
        }
        try {
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    private static byte[] plaintext(SecuritySession s) {
        ByteBuf b = s.pollApplicationInput(ALLOC);
        if (b == null) {
            return new byte[0];
        }
        try {
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    /** Feeds {@code bytes} borrowed, in pieces the input chooses; returns the failure, if any. */
    private static SecurityFailure feed(SecuritySession s, byte[] bytes, FuzzedDataProvider d) {
        int at = 0;
        while (at < bytes.length) {
            int n = Math.min(bytes.length - at, 1 + d.consumeInt(0, 600));
            ByteBuf b = ALLOC.buffer(n).writeBytes(bytes, at, n);
            try {
                s.receiveFromNetwork(b);
                assertTrue(!b.isReadable() && b.refCnt() == 1, "input borrowed and fully consumed");
            } catch (SecurityFailure f) {
                return f;
            } catch (RuntimeException e) {
                throw new AssertionError("receiveFromNetwork threw " + e, e);
            } finally {
                b.release();
            }
            take(s);
            plaintext(s);
            at += n;
        }
        return null;
    }

    private static void assertStaysFailed(SecuritySession s) {
        ByteBuf b = ALLOC.buffer(5).writeBytes(new byte[] {23, 3, 3, 0, 0});
        try {
            assertThrows(SecurityFailure.class, () -> s.receiveFromNetwork(b), "a failed session keeps failing");
        } finally {
            b.release();
        }
        take(s);
    }

    /** Two sessions handshaken whole flights at a time. */
    private static SecuritySession[] established() throws SecurityFailure {
        SecuritySession c = client();
        SecuritySession s = server();
        c.start();
        s.start();
        for (int i = 0; i < 10 && !(c.isEstablished() && s.isEstablished()); i++) {
            byte[] toServer = take(c);
            if (toServer.length > 0) {
                ByteBuf b = ALLOC.buffer().writeBytes(toServer);
                try {
                    s.receiveFromNetwork(b);
                } finally {
                    b.release();
                }
            }
            byte[] toClient = take(s);
            if (toClient.length > 0) {
                ByteBuf b = ALLOC.buffer().writeBytes(toClient);
                try {
                    c.receiveFromNetwork(b);
                } finally {
                    b.release();
                }
            }
        }
        assertTrue(c.isEstablished() && s.isEstablished(), "handshake completes");
        return new SecuritySession[] {c, s};
    }

    @FuzzTest(maxDuration = "10m")
    void receive(FuzzedDataProvider d) throws SecurityFailure {
        int mode = d.consumeInt(0, 3);
        switch (mode) {
            case 0 -> {
                SecuritySession s = server();
                s.start();
                byte[] in = d.consumeBytes(d.consumeInt(0, 4096));
                if (feed(s, in, d) != null) {
                    assertStaysFailed(s);
                }
            }
            case 1 -> {
                SecuritySession c = client();
                c.start();
                take(c);
                byte[] in = d.consumeBytes(d.consumeInt(0, 4096));
                if (feed(c, in, d) != null) {
                    assertStaysFailed(c);
                }
            }
            default -> {
                SecuritySession[] pair = established();
                SecuritySession c = pair[0];
                SecuritySession s = pair[1];
                ByteBuf hello = ALLOC.buffer().writeBytes(HELLO);
                try {
                    c.sendFromApplication(hello);
                } finally {
                    hello.release();
                }
                byte[] record = take(c);
                byte[] tampered = record.clone();
                int flips = d.consumeInt(0, 4);
                StringBuilder where = new StringBuilder();
                for (int i = 0; i < flips; i++) {
                    int at = d.consumeInt(0, tampered.length - 1);
                    int mask = d.consumeInt(1, 255);
                    tampered[at] ^= (byte) mask;
                    where.append(" byte ").append(at).append(" ^ 0x").append(Integer.toHexString(mask));
                }
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                all.writeBytes(tampered);
                all.writeBytes(d.consumeRemainingAsBytes());
                SecurityFailure f = feed(s, all.toByteArray(), d);
                byte[] got = plaintext(s);
                int claimed = ((tampered[3] & 0xFF) << 8) | (tampered[4] & 0xFF);
                boolean complete = 5 + claimed <= all.size();
                if (!java.util.Arrays.equals(tampered, record)) {
                    // A flipped byte in the header, IV, ciphertext or tag must never yield plaintext;
                    // and once the record is complete (a grown length field may leave it waiting
                    // for more bytes), it must fail.
                    assertArrayEquals(new byte[0], got, "no plaintext from a tampered record");
                    assertTrue(f != null || !complete, "a tampered record was accepted:" + where + " of " + record.length
                            + " bytes, " + java.util.HexFormat.of().formatHex(record) + " -> "
                            + java.util.HexFormat.of().formatHex(tampered) + ", plaintext " + got.length);
                } else if (got.length > 0) {
                    byte[] prefix = java.util.Arrays.copyOf(got, Math.min(got.length, HELLO.length));
                    assertArrayEquals(java.util.Arrays.copyOf(HELLO, prefix.length), prefix,
                            "only the genuine plaintext is delivered first");
                }
                if (f != null) {
                    assertStaysFailed(s);
                }
            }
        }
    }
}
