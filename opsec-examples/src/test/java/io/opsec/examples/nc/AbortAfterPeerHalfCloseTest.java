package io.opsec.examples.nc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.opsec.stack.OpsecStack;
import io.opsec.stack.link.MemoryLink;
import io.opsec.stack.opsec.OpsecMode;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What a killed {@code opsec nc} relies on: a socket closed with {@code SO_LINGER} 0 after its
 * peer half-closed (we are in CLOSE-WAIT, the peer in FIN-WAIT-2) resets the connection, and the
 * peer's blocked read ends with "Connection reset" (RFC 9293 §3.10.4: ABORT in CLOSE-WAIT sends a
 * RST; §3.10.7.4: a valid RST in FIN-WAIT-2 reports "connection reset").
 */
@Timeout(60)
class AbortAfterPeerHalfCloseTest {

    @ParameterizedTest
    @EnumSource(value = OpsecMode.class, names = {"OFF", "OPPORTUNISTIC"})
    void abortInCloseWait_peerInFinWait2_readsConnectionReset(OpsecMode mode) throws Exception {
        MemoryLink.Pair wire = MemoryLink.pair();
        try (OpsecStack a = OpsecStack.builder().address("198.18.0.1").link(wire.a()).opsecMode(mode).build();
             OpsecStack b = OpsecStack.builder().address("198.18.0.2").link(wire.b()).opsecMode(mode).build();
             ServerSocket listener = b.serverSocketFactory().createServerSocket(7);
             Socket client = a.socketFactory().createSocket("198.18.0.2", 7);
             Socket served = listener.accept()) {
            served.setSoTimeout(10_000);
            client.setSoTimeout(10_000);
            served.shutdownOutput();                                  // b: FIN-WAIT-1, then FIN-WAIT-2
            assertEquals(-1, client.getInputStream().read());         // a: CLOSE-WAIT
            client.setSoLinger(true, 0);
            client.close();                                           // ABORT: RST
            SocketException e = assertThrows(SocketException.class, () -> served.getInputStream().read());
            assertEquals("Connection reset", e.getMessage().substring(0, "Connection reset".length()), e.getMessage());
        }
    }
}
