package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.SeqNum;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The handshake extension hook that OPSEC negotiation rides on. */
class TcpExtensionTest {
    static final TcpOption MSS = new TcpOption.Mss(1460);

    /** Proposes on the first two SYN attempts, selects protocol 0, echoes until data is acknowledged. */
    static final class Recording implements TcpExtension {
        final List<String> log = new ArrayList<>();
        TcpConnection conn;
        boolean abortOnNextSegment;
        int echoes;

        @Override public void attach(TcpConnection c) { conn = c; log.add("attach"); }

        @Override
        public List<TcpOption> synOptions(int attempt) {
            log.add("syn " + attempt);
            return attempt < 2 ? List.of(OpsecOption.experimental(0, 1)) : List.of();
        }

        @Override
        public List<TcpOption> synAckOptions(TcpHeader peerSyn, boolean simultaneousOpen) {
            log.add("synack " + simultaneousOpen + " " + (peerSyn.option(OpsecOption.class) != null));
            return List.of(OpsecOption.experimental(0));
        }

        @Override
        public List<TcpOption> segmentOptions() {
            // The initiator echoes until the peer has acknowledged data (SND.UNA > ISS + 1).
            TcpConnection.Info i = conn.info();
            if (conn.isActiveOpen() && !SeqNum.gt(i.sndUna(), i.iss() + 1)) {
                echoes++;
                return List.of(OpsecOption.experimental(0));
            }
            return List.of();
        }

        @Override
        public Verdict onSegment(TcpHeader h, int payloadLength, TcpState state) {
            log.add("seg " + state + " " + (h.option(OpsecOption.class) != null));
            return abortOnNextSegment ? Verdict.ABORT : Verdict.ACCEPT;
        }

        @Override public void onEstablished(boolean activeOpen) { log.add("established " + activeOpen); }
    }

    @Test
    void active_synCarriesProposal_sameBytesOnRetransmission_thenFallsBack() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, ext, at(0));
            assertSame(f.conn, ext.conn);
            TcpFixture.Got first = f.expect(at(0), f.seg().flags(SYN));
            TcpFixture.Got second = f.expect(at(1000), f.seg().flags(SYN));
            assertEquals(OpsecOption.experimental(0, 1), first.option(OpsecOption.class));
            assertEquals(first.option(OpsecOption.class), second.option(OpsecOption.class));
            // Third attempt: the extension gives up proposing (a path that drops unknown options).
            TcpFixture.Got third = f.expect(at(3000), f.seg().flags(SYN));
            assertNull(third.option(OpsecOption.class));
            assertEquals(List.of("attach", "syn 0", "syn 1", "syn 2"), ext.log);
        }
    }

    @Test
    void active_synAckIsReported_completingAckAndDataEchoUntilDataIsAcked() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, ext, at(0));
            f.expect(at(0), f.seg().flags(SYN));
            f.deliver(at(10), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1)
                    .opts(MSS, OpsecOption.experimental(0)));
            TcpFixture.Got ack = f.expect(at(10), f.seg().flags(ACK).seq(f.iss + 1));
            assertEquals(OpsecOption.experimental(0), ack.option(OpsecOption.class), "echo on the completing ACK");
            assertTrue(ext.log.contains("seg SYN-SENT true"));
            assertTrue(ext.log.contains("established true"));
            f.send(at(20), "hi".getBytes());
            assertNotNull(f.expect(at(20), f.seg().payload("hi")).option(OpsecOption.class), "echo on data");
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(f.iss + 3));
            f.send(at(40), "x".getBytes());
            assertNull(f.expect(at(40), f.seg().payload("x")).option(OpsecOption.class), "echo ends once data is acked");
        }
    }

    @Test
    void passive_synAckCarriesSelection_identicalOnRetransmission() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.listener = f.ep.listen(80, 4, () -> ext);
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS, OpsecOption.experimental(0, 1)));
            TcpFixture.Got a = f.expect(at(0), f.seg().flags(SYN | ACK));
            TcpFixture.Got b = f.expect(at(1000), f.seg().flags(SYN | ACK));
            assertEquals(OpsecOption.experimental(0), a.option(OpsecOption.class));
            assertEquals(a.h().options(), b.h().options());
            assertEquals(List.of("attach", "seg LISTEN true", "synack false true"), ext.log);
        }
    }

    @Test
    void passive_completingAckLost_dataWithEchoArrivesFirst_isReportedThenEstablishes() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.listener = f.ep.listen(80, 4, () -> ext);
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS, OpsecOption.experimental(0)));
            f.drain();
            f.deliver(at(10), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("data")
                    .opts(OpsecOption.experimental(0)));
            assertTrue(ext.log.contains("seg SYN-RECEIVED true"), ext.log.toString());
            assertTrue(ext.log.indexOf("seg SYN-RECEIVED true") < ext.log.indexOf("established false"));
            f.conn = f.ep.accept(f.listener);
            assertEquals("data", new String(f.read(at(11), 10)));
        }
    }

    @Test
    void abortVerdict_resetsWithExtensionError() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.listener = f.ep.listen(80, 4, () -> ext);
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS));
            f.drain();
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            f.conn = f.ep.accept(f.listener);
            ext.abortOnNextSegment = true;
            f.deliver(at(2), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("bad"));
            f.expect(at(2), f.seg().flags(RST).seq(f.iss + 1));
            assertEquals(TcpError.EXTENSION, f.conn.error());
            assertEquals(1, f.ep.stats().extensionAborts());
        }
    }

    @Test
    void abortVerdictOnSynAck_resetsAndFailsTheConnect() {
        Recording ext = new Recording();
        ext.abortOnNextSegment = true;
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, ext, at(0));
            f.drain();
            f.deliver(at(10), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1).opts(MSS));
            f.expect(at(10), f.seg().flags(RST).seq(f.iss + 1));
            assertEquals(TcpError.EXTENSION, f.conn.error());
        }
    }

    @Test
    void simultaneousOpen_asksForSynAckOptionsWithTheFlagSet() {
        Recording ext = new Recording();
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, ext, at(0));
            f.drain();
            f.deliver(at(5), f.seg().flags(SYN).seq(f.remoteIss).opts(MSS, OpsecOption.experimental(0)));
            TcpFixture.Got sa = f.expect(at(5), f.seg().flags(SYN | ACK));
            assertEquals(OpsecOption.experimental(0), sa.option(OpsecOption.class));
            assertTrue(ext.log.contains("synack true true"));
            f.deliver(at(6), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1).opts(MSS, OpsecOption.experimental(0)));
            assertEquals(TcpState.ESTABLISHED, f.conn.state());
            // The ACK after the crossing SYN-ACKs carries segmentOptions() (the active opener echoes).
            TcpFixture.Got ack = f.expect(at(6), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 1));
            assertEquals(OpsecOption.experimental(0), ack.option(OpsecOption.class));
        }
    }

    @Test
    void optionBudget_synWithEveryOptionAndOpsec_fitsIn40Bytes() {
        TcpExtension big = new TcpExtension() {
            @Override public List<TcpOption> synOptions(int attempt) { return List.of(OpsecOption.experimental(0, 1)); }
        };
        try (TcpFixture f = new TcpFixture()) {
            f.localPort = 50000;
            f.remotePort = 80;
            f.conn = f.ep.connect(TcpFixture.REMOTE, 80, 50000, big, at(0));
            TcpFixture.Got syn = f.expect(at(0), f.seg().flags(SYN));
            assertEquals(40 + 28, syn.h().headerLength() + 20 + 20 - 20, "20 TCP + 28 option bytes");
            assertNotNull(syn.option(TcpOption.WindowScale.class));
            assertNotNull(syn.option(OpsecOption.class));
        }
    }
}
