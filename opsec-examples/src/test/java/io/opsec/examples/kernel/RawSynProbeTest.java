package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.examples.kernel.KernelPeers.Plan;
import io.opsec.stack.link.UdpTunnelLink;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.ParseError;
import io.opsec.stack.wire.ParseResult;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpOptions;
import io.opsec.stack.wire.TcpSegment;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Proves the tunnel path end to end with nothing of our TCP engine: hand-built segments from the
 * wire package go over a plain {@link DatagramSocket} to the lab's UDP port, through socat and the
 * TUN device into the namespace, where Linux answers.
 *
 * <p>The SYN carries MSS, SACK-permitted, timestamps, window scale and an OPSEC proposal. Linux
 * must answer with its own MSS, SACK-permitted, timestamps (echoing ours) and window scale, and
 * must ignore the OPSEC option: an unknown kind is skipped (RFC 9293 §3.2, MUST-6), so its SYN-ACK
 * carries no OPSEC and the connection would run plain. Then our RST tears the half-open
 * connection down.
 */
@Tag("kernel")
class RawSynProbeTest {
    private static final int PORT = 5003;
    private static final int CLOSED_PORT = 5999;

    @Test
    @Timeout(60)
    void linuxSynAck_negotiatesMssSackTsWs_andIgnoresOpsec() throws IOException {
        try (KernelLab lab = KernelLab.open("raw-syn")) {
            KernelLab.Namespace ns = lab.namespace("k");
            KernelLab.Tunnel tun = lab.tunnel(ns, 3, Impairment.CLEAN, 1, 1500);
            Path pcap = lab.dir().resolve("namespace-side.pcap");
            Proc capture = lab.capture(ns, tun.device(), pcap, tun.stackAddress());
            KernelPeers.serve(lab, ns, tun.kernelAddress(), PORT, Plan.receive().timeout(Duration.ofSeconds(30)));

            int us = Ipv4Address.parse(tun.stackAddress());
            int them = Ipv4Address.parse(tun.kernelAddress());
            int sport = 40000 + ThreadLocalRandom.current().nextInt(20000);
            int iss = 0xfffff000; // near the wrap, as every sequence test should be
            int tsVal = 0x12345678;

            try (DatagramSocket udp = new DatagramSocket(tun.stackBind())) {
                udp.setSoTimeout(3000);
                send(udp, tun, us, them, TcpHeader.of(sport, PORT, iss, 0, TcpFlags.SYN, 65535, List.of(
                        new TcpOption.Mss(1460), new TcpOption.SackPermitted(), new TcpOption.Timestamps(tsVal, 0),
                        new TcpOption.Nop(), new TcpOption.WindowScale(7), OpsecOption.experimental(0))));

                TcpHeader synAck = receive(udp, them, us, sport, Duration.ofSeconds(10));
                assertEquals(TcpFlags.SYN | TcpFlags.ACK, synAck.flags(), "flags of " + synAck);
                assertEquals(iss + 1, synAck.ack(), "SYN-ACK acknowledges our ISS + 1 across the wrap");
                TcpOption.Mss mss = synAck.option(TcpOption.Mss.class);
                assertNotNull(mss, "MSS in " + synAck);
                assertEquals(1460, mss.mss(), "Linux's MSS on a 1500-byte MTU TUN");
                assertNotNull(synAck.option(TcpOption.SackPermitted.class), "SACK-permitted in " + synAck);
                TcpOption.Timestamps ts = synAck.option(TcpOption.Timestamps.class);
                assertNotNull(ts, "timestamps in " + synAck);
                assertEquals(tsVal, ts.tsEcr(), "TSecr echoes our TSval (RFC 7323 §3.2)");
                assertNotNull(synAck.option(TcpOption.WindowScale.class), "window scale in " + synAck);
                assertNull(synAck.option(OpsecOption.class), "Linux must not answer OPSEC: " + synAck);
                assertTrue(synAck.options().stream().noneMatch(o -> o.kind() == TcpOption.KIND_EXPERIMENT_1),
                        "no kind-253 option at all in " + synAck);

                String halfOpen = KernelLab.run(ns.exec("ss", "-Htn", "state", "syn-recv"));
                assertTrue(halfOpen.contains(tun.stackAddress() + ":" + sport), "SYN-RECEIVED before our RST: " + halfOpen);
                // RFC 9293 §3.10.7.4: a RST in window (seq = RCV.NXT) resets the SYN-RECEIVED connection.
                send(udp, tun, us, them, TcpHeader.of(sport, PORT, iss + 1, 0, TcpFlags.RST, 0, List.of()));
                awaitNoHalfOpen(ns, Duration.ofSeconds(5));

                // And a SYN to a port nobody listens on is refused: RST+ACK, ack = our seq + 1.
                send(udp, tun, us, them, TcpHeader.of(sport + 1, CLOSED_PORT, 7, 0, TcpFlags.SYN, 65535,
                        List.of(OpsecOption.experimental(0))));
                TcpHeader refused = receive(udp, them, us, sport + 1, Duration.ofSeconds(10));
                assertEquals(TcpFlags.RST | TcpFlags.ACK, refused.flags(), "answer to a closed port: " + refused);
                assertEquals(8, refused.ack());
            }

            capture.close();
            checkCapture(pcap, tun);
        }
    }

    /**
     * The stack's own {@link UdpTunnelLink} (no TCP engine yet) carries a hand-built SYN into the
     * namespace and hands back Linux's SYN-ACK: the link and the lab agree on the framing (one raw
     * IPv4 packet per datagram, no packet-information header) and on addresses.
     */
    @Test
    @Timeout(60)
    void udpTunnelLink_carriesSynToLinux_andSynAckBack() throws Exception {
        try (KernelLab lab = KernelLab.open("raw-link")) {
            KernelLab.Namespace ns = lab.namespace("k");
            KernelLab.Tunnel tun = lab.tunnel(ns, 4, Impairment.CLEAN, 1, 1500);
            KernelPeers.serve(lab, ns, tun.kernelAddress(), PORT, Plan.receive().timeout(Duration.ofSeconds(30)));
            int us = Ipv4Address.parse(tun.stackAddress());
            int them = Ipv4Address.parse(tun.kernelAddress());
            int sport = 40000 + ThreadLocalRandom.current().nextInt(20000);
            Semaphore arrived = new Semaphore(0);
            try (UdpTunnelLink link = UdpTunnelLink.builder().local(tun.stackBind()).peer(tun.stackPeer()).build()) {
                link.onArrival(arrived::release);
                ByteBuf syn = Unpooled.buffer();
                TcpSegment.emit(syn, us, them, 1, TcpHeader.of(sport, PORT, 77, 0, TcpFlags.SYN, 65535,
                        List.of(new TcpOption.Mss(1400), OpsecOption.experimental(0))), null);
                link.transmit(syn, System.nanoTime()); // ownership passes to the link

                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                TcpHeader answer = null;
                while (answer == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        fail("no SYN-ACK through UdpTunnelLink within 10 s; counters " + link.counters());
                    }
                    arrived.tryAcquire(left, TimeUnit.NANOSECONDS);
                    ByteBuf p;
                    while ((p = link.receive(System.nanoTime())) != null) {
                        try {
                            ParseResult<TcpSegment> r = TcpSegment.parse(p, TcpOptions.Codec.DEFAULT);
                            if (r.isOk() && r.value().tcp().destinationPort() == sport) {
                                answer = r.value().tcp();
                            }
                        } finally {
                            p.release();
                        }
                    }
                }
                assertEquals(TcpFlags.SYN | TcpFlags.ACK, answer.flags(), answer.toString());
                assertEquals(78, answer.ack());
                // Linux announces its own MSS (MTU 1500 less 40); ours only limits what it sends us.
                assertEquals(1460, answer.option(TcpOption.Mss.class).mss(), answer.toString());
                assertNull(answer.option(OpsecOption.class), answer.toString());

                ByteBuf rst = Unpooled.buffer();
                TcpSegment.emit(rst, us, them, 2, TcpHeader.of(sport, PORT, 78, 0, TcpFlags.RST, 0, List.of()), null);
                link.transmit(rst, System.nanoTime());
                awaitNoHalfOpen(ns, Duration.ofSeconds(5));
                assertEquals(0, link.counters().sendErrors(), link.counters().toString());
            }
        }
    }

    /** The namespace-side capture shows the OPSEC option (ExID 0x05ec) in our SYN and none from Linux. */
    private static void checkCapture(Path pcap, KernelLab.Tunnel tun) {
        KernelLab.Result r = KernelLab.exec(List.of("tshark", "-n", "-r", pcap.toString(), "-T", "fields",
                "-E", "separator=/t", "-e", "ip.src", "-e", "tcp.flags.str", "-e", "tcp.options.experimental.exid",
                "-e", "tcp.option_kind"), Duration.ofSeconds(60));
        assertEquals(0, r.status(), r.output());
        boolean sawOurs = false;
        for (String line : r.output().split("\n")) {
            String[] c = line.split("\t", -1);
            if (c.length < 4) {
                continue;
            }
            if (c[0].equals(tun.stackAddress()) && c[1].contains("S")) {
                sawOurs |= c[2].contains("0x05ec");
            }
            if (c[0].equals(tun.kernelAddress())) {
                assertFalse(c[3].matches(".*\\b253\\b.*"), "kernel sent option kind 253: " + line);
            }
        }
        assertTrue(sawOurs, "our SYN's OPSEC option seen inside the namespace:\n" + r.output());
        Tshark.Analysis a = Tshark.analyse(pcap, tun.stackAddress());
        assertEquals(0, a.all().malformed(), a.all().summary());
        assertEquals(0, a.from().badTcpChecksum() + a.from().badIpChecksum() + a.from().tcpChecksumFfff(),
                a.from().summary());
    }

    private static void send(DatagramSocket udp, KernelLab.Tunnel tun, int src, int dst, TcpHeader h)
            throws IOException {
        ByteBuf b = Unpooled.buffer();
        try {
            TcpSegment.emit(b, src, dst, ThreadLocalRandom.current().nextInt(0x10000), h, null);
            byte[] bytes = new byte[b.readableBytes()];
            b.getBytes(b.readerIndex(), bytes);
            udp.send(new DatagramPacket(bytes, bytes.length, tun.stackPeer()));
        } finally {
            b.release();
        }
    }

    /** The next TCP segment from {@code src} to our port, parsed with checksums verified. */
    private static TcpHeader receive(DatagramSocket udp, int src, int dst, int dport, Duration timeout)
            throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] buf = new byte[65535];
        while (System.nanoTime() < deadline) {
            DatagramPacket dp = new DatagramPacket(buf, buf.length);
            try {
                udp.receive(dp);
            } catch (SocketTimeoutException e) {
                continue;
            }
            ByteBuf b = Unpooled.wrappedBuffer(buf, 0, dp.getLength());
            try {
                ParseResult<TcpSegment> r = TcpSegment.parse(b, TcpOptions.Codec.DEFAULT);
                if (r.error() == ParseError.IP_NOT_TCP) {
                    continue; // the capture's UDP markers
                }
                if (!r.isOk()) {
                    fail("kernel sent a packet our parser rejects: " + r);
                }
                TcpSegment s = r.value();
                if (s.ip().source() == src && s.ip().destination() == dst && s.tcp().destinationPort() == dport) {
                    return s.tcp();
                }
            } finally {
                b.release();
            }
        }
        throw new AssertionError("no answer from the kernel within " + timeout);
    }

    /** Waits (bounded) until the namespace holds no SYN-RECEIVED connection. */
    private static void awaitNoHalfOpen(KernelLab.Namespace ns, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String out;
        do {
            out = KernelLab.run(ns.exec("ss", "-Htn", "state", "syn-recv")).trim();
            if (out.isEmpty()) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        } while (System.nanoTime() < deadline);
        fail("the kernel kept a half-open connection after our RST: " + out);
    }
}
