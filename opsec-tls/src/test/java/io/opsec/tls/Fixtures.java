package io.opsec.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityContext.Role;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;

/** Sessions, data and assertions shared by the in-memory TLS tests. */
final class Fixtures {

    static final InetSocketAddress CLIENT_ADDR = new InetSocketAddress("198.18.0.1", 40000);
    static final InetSocketAddress SERVER_ADDR = new InetSocketAddress("198.18.0.2", 7);

    static final TlsSecurityProtocol ANON = new TlsSecurityProtocol();

    private Fixtures() {
    }

    static SecuritySession client(TlsSecurityProtocol p) {
        return p.newSession(new SecurityContext(Role.CLIENT, CLIENT_ADDR, SERVER_ADDR));
    }

    static SecuritySession server(TlsSecurityProtocol p) {
        return p.newSession(new SecurityContext(Role.SERVER, SERVER_ADDR, CLIENT_ADDR));
    }

    /** Handshakes a client and a server of the given protocols, whole flights at a time. */
    static Pump established(TlsSecurityProtocol clientSide, TlsSecurityProtocol serverSide) {
        Pump pump = new Pump(client(clientSide), server(serverSide)).start();
        assertNoErrors(pump);
        return pump;
    }

    /** Writes {@code data} through {@code s} and checks the buffer was borrowed, not taken. */
    static void send(SecuritySession s, byte[] data) throws SecurityFailure {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.buffer(data.length).writeBytes(data);
        try {
            s.sendFromApplication(buf);
            assertFalse(buf.isReadable(), "all readable bytes consumed");
            assertEquals(1, buf.refCnt(), "borrowed, not released");
        } finally {
            buf.release();
        }
    }

    /** Feeds raw bytes to a session, borrowed. */
    static void feed(SecuritySession s, byte[] data) throws SecurityFailure {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.buffer(data.length).writeBytes(data);
        try {
            s.receiveFromNetwork(buf);
        } finally {
            buf.release();
        }
    }

    /** Takes (and releases) whatever network output a session has. */
    static byte[] drainNetwork(SecuritySession s) {
        ByteBuf out = s.pollNetworkOutput(PooledByteBufAllocator.DEFAULT);
        if (out == null) {
            return new byte[0];
        }
        try {
            byte[] b = new byte[out.readableBytes()];
            out.readBytes(b);
            return b;
        } finally {
            out.release();
        }
    }

    static void assertNoErrors(Pump p) {
        assertNull(p.errorA, () -> "client failed: " + p.errorA);
        assertNull(p.errorB, () -> "server failed: " + p.errorB);
    }

    /** Asserts the failure names the alert and its direction. */
    static SecurityFailure assertAlert(Exception e, SecurityFailure.Kind kind, int code, String name) {
        assertNotNull(e, "expected a failure");
        SecurityFailure f = assertInstanceOf(SecurityFailure.class, e);
        assertEquals(kind, f.kind(), f::getMessage);
        assertEquals(code, f.alertCode(), f::getMessage);
        assertEquals(name, f.alertName());
        assertEquals(SecurityFailure.AlertLevel.FATAL, f.alertLevel());
        assertTrue(f.getMessage().contains(name), f::getMessage);
        return f;
    }
}
