package io.opsec.stack.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpOption;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PcapTapTest {

    private static final long S = 1_000_000_000L;

    static ByteBuf bytes(String hex) {
        byte[] b = HexFormat.of().parseHex(hex);
        return ByteBufAllocator.DEFAULT.buffer(b.length).writeBytes(b);
    }

    @Test
    void writer_goldenBytes_nanosecondFile() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PcapWriter w = new PcapWriter(out, PcapWriter.Resolution.NANOS, 65535)) {
            ByteBuf p = bytes("4500001c");
            w.write(p, 3 * S + 123_456_789);
            assertEquals(0, p.readerIndex(), "borrowed: indexes untouched");
            p.release();
        }
        assertEquals("a1b23c4d" + "0002" + "0004" + "00000000" + "00000000" + "0000ffff" + "00000065"
                + "00000003" + "075bcd15" + "00000004" + "00000004" + "4500001c",
                HexFormat.of().formatHex(out.toByteArray()));
    }

    @Test
    void writer_microsecondFile_truncatesToSnaplen_andClampsNegativeTimes() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PcapWriter w = new PcapWriter(out, PcapWriter.Resolution.MICROS, 2)) {
            ByteBuf p = bytes("45000014ff");
            w.write(p, 7 * S + 999_999_999);
            w.write(p, -5);
            p.release();
            assertEquals(2, w.records());
        }
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
        assertEquals(PcapWriter.MAGIC_MICROS, b.getInt(0));
        assertEquals(2, b.getInt(16));                       // snaplen
        assertEquals(7, b.getInt(24));                       // seconds
        assertEquals(999_999, b.getInt(28));                 // microseconds
        assertEquals(2, b.getInt(32));                       // captured
        assertEquals(5, b.getInt(36));                       // original length
        assertEquals((short) 0x4500, b.getShort(40));
        assertEquals(0, b.getInt(42));                       // second record: time 0
        assertEquals(24 + 2 * (16 + 2), out.size());
    }

    @Test
    void writer_refusesWritesAfterClose() throws IOException {
        PcapWriter w = new PcapWriter(new ByteArrayOutputStream(), PcapWriter.Resolution.NANOS, 65535);
        w.close();
        w.close();
        ByteBuf p = bytes("45");
        assertThrows(IOException.class, () -> w.write(p, 0));
        p.release();
    }

    @Test
    void tap_capturesBothDirections_stampedWithNowPlusOffset_andForwardsUnchanged() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryLink.Pair wire = MemoryLink.builder()
                .impairments(Impairments.builder().latency(Duration.ofMillis(10)).build()).build()) {
            PcapTap tap = PcapTap.builder(wire.a()).stream(out).epochOffsetNanos(1_700_000_000L * S).build();
            assertEquals(1500, tap.mtu());
            tap.transmit(bytes("aaaa"), 0);
            wire.b().transmit(bytes("bbbbbb"), 5_000_000);
            assertEquals(15_000_000, tap.nextArrivalAt());
            assertNull(tap.receive(14_999_999));
            ByteBuf got = tap.receive(20_000_000);
            assertEquals("bbbbbb", ByteBufUtil.hexDump(got));
            got.release();
            ByteBuf atB = wire.b().receive(S);
            assertEquals("aaaa", ByteBufUtil.hexDump(atB));
            atB.release();
            assertEquals(2, tap.writer().records());
            tap.close();
            assertNull(tap.failure());
        }
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
        assertEquals(1_700_000_000, b.getInt(24));
        assertEquals(0, b.getInt(28));
        assertEquals((short) 0xaaaa, b.getShort(40));
        assertEquals(1_700_000_000, b.getInt(42));
        assertEquals(20_000_000, b.getInt(46), "stamped when received, not when sent");
        assertEquals(3, b.getInt(54));
    }

    @Test
    void tap_closesTheInnerLinkAndItsStream() throws IOException {
        boolean[] closed = {false};
        OutputStream sink = new OutputStream() {
            @Override
            public void write(int b) {
            }

            @Override
            public void close() {
                closed[0] = true;
            }
        };
        MemoryLink.Pair wire = MemoryLink.pair();
        PcapTap tap = PcapTap.builder(wire.a()).stream(sink).build();
        tap.close();
        assertTrue(closed[0]);
        wire.b().transmit(bytes("45"), 0);
        assertEquals(1, wire.bToA().counters().discarded(), "the inner end is closed");
        wire.close();
    }

    @Test
    void tap_sharedWriter_isFlushedNotClosed() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PcapWriter shared = new PcapWriter(out, PcapWriter.Resolution.NANOS, 65535);
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            PcapTap a = PcapTap.builder(wire.a()).writer(shared).build();
            PcapTap b = PcapTap.builder(wire.b()).writer(shared).build();
            a.transmit(bytes("01"), 1);
            ByteBuf p = b.receive(2);
            p.release();
            a.close();
            b.close();
            assertEquals(24 + 2 * 17, out.size(), "both taps' records, flushed");
            shared.write(bytes2(), 3); // still open
        }
        shared.close();
    }

    private static ByteBuf bytes2() {
        return io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {2});
    }

    @Test
    void tap_keepsForwarding_whenTheCaptureFails() throws IOException {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("disk full");
            }
        };
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            // The header goes into the buffer; the failure shows when a packet forces a flush.
            PcapTap tap = PcapTap.builder(wire.a()).stream(broken).flushEachPacket(true).build();
            tap.transmit(bytes("4500"), 0);
            tap.transmit(bytes("4501"), 0);
            assertNotNull(tap.failure());
            assertEquals(2, wire.aToB().counters().sent());
            ByteBuf p = wire.b().receive(0);
            p.release();
            p = wire.b().receive(0);
            p.release();
            tap.close();
        }
    }

    @Test
    void tap_isBuffered_untilFlushed() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            PcapTap tap = PcapTap.builder(wire.a()).stream(out).build();
            tap.transmit(bytes("4500"), 0);
            assertEquals(0, out.size(), "buffered");
            tap.flush();
            assertEquals(24 + 16 + 2, out.size());
            wire.b().receive(0).release();
            tap.close();
        }
    }

    @Test
    void tap_builderOptions_reachTheFile() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            PcapTap tap = PcapTap.builder(wire.a()).stream(out).resolution(PcapWriter.Resolution.MICROS)
                    .snaplen(3).build();
            tap.transmit(bytes("45000014"), 2_000_500_000L);
            tap.close();
            wire.b().receive(2_000_500_000L).release();
        }
        ByteBuffer b = ByteBuffer.wrap(out.toByteArray());
        assertEquals(PcapWriter.MAGIC_MICROS, b.getInt(0));
        assertEquals(3, b.getInt(16));
        assertEquals(2, b.getInt(24));
        assertEquals(500, b.getInt(28));                   // 500_000 ns in microseconds
        assertEquals(3, b.getInt(32));
        assertEquals(4, b.getInt(36));
    }

    @Test
    void tap_passesTheWakeupToTheInnerLink() throws IOException {
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            PcapTap tap = PcapTap.builder(wire.a()).stream(new ByteArrayOutputStream()).build();
            int[] woken = {0};
            tap.onArrival(() -> woken[0]++);
            wire.b().transmit(bytes("45"), 0);
            assertEquals(1, woken[0]);
            tap.close();
        }
    }

    @Test
    void builder_needsExactlyOneTarget() {
        try (MemoryLink.Pair wire = MemoryLink.pair()) {
            assertThrows(IllegalStateException.class, () -> PcapTap.builder(wire.a()).build());
            assertThrows(IllegalStateException.class, () -> PcapTap.builder(wire.a())
                    .stream(new ByteArrayOutputStream()).file(Path.of("x.pcap")).build());
        }
    }

    @Test
    void sameVirtualRun_writesTheSameBytes(@TempDir Path dir) throws IOException {
        assertEquals(HexFormat.of().formatHex(Files.readAllBytes(handshake(dir.resolve("1.pcap")))),
                HexFormat.of().formatHex(Files.readAllBytes(handshake(dir.resolve("2.pcap")))));
    }

    @Test
    void tshark_decodesTheCaptureAsIpv4Tcp_withoutWarnings(@TempDir Path dir) throws Exception {
        assumeTrue(hasTshark(), "tshark is not installed");
        Path file = handshake(dir.resolve("handshake.pcap"));
        List<String> lines = tshark(file, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "ip.dst", "-e", "tcp.flags.str",
                "-e", "tcp.len", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "frame.time_epoch");
        // What end a sent (SYN, ACK, data) and received (SYN-ACK, two ACKs), in call order.
        assertEquals(6, lines.size(), String.join("\n", lines));
        for (String line : lines) {
            String[] f = line.split(",");
            assertTrue(f[0].startsWith("198.18.0."), line);
            assertEquals("1", f[4], "IP checksum status good: " + line);
            assertEquals("1", f[5], "TCP checksum status good: " + line);
        }
        assertTrue(lines.get(0).contains("S"), lines.get(0));
        assertTrue(lines.get(0).endsWith("0.001000000"), lines.get(0));
        assertTrue(lines.get(3).contains(",5,"), "the data segment: " + lines.get(3));
        assertTrue(lines.get(5).endsWith("0.007000000"), lines.get(5));
        List<String> problems = tshark(file, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                "-Y", "_ws.malformed || _ws.expert.severity >= warning");
        assertEquals(List.of(), problems);
    }

    /** A three-way handshake and a data segment, over a 1 ms wire, captured at end a. */
    static Path handshake(Path file) throws IOException {
        try (MemoryLink.Pair wire = MemoryLink.builder()
                .impairments(Impairments.builder().latency(Duration.ofMillis(1)).build()).build()) {
            PcapTap a = PcapTap.toFile(wire.a(), file);
            List<TcpOption> opts = List.of(new TcpOption.Mss(1460), new TcpOption.SackPermitted(),
                    new TcpOption.Nop(), new TcpOption.WindowScale(7), OpsecOption.experimental(0));
            long ms = 1_000_000;
            a.transmit(MiddleboxesTest.segment(TcpFlags.SYN, 100, 0, opts, ""), ms);
            relay(wire.b(), wire.b(), 2 * ms);
            a.receive(3 * ms).release();
            a.transmit(MiddleboxesTest.segment(TcpFlags.ACK, 101, 1, List.of(), ""), 4 * ms);
            a.transmit(MiddleboxesTest.segment(TcpFlags.ACK | TcpFlags.PSH, 101, 1, List.of(), "hello"), 5 * ms);
            relay(wire.b(), wire.b(), 6 * ms);
            a.receive(7 * ms).release();
            a.receive(7 * ms).release();
            a.close();
            assertEquals(0, wire.bToA().counters().inFlight());
        }
        return file;
    }

    /** Answers every segment waiting at {@code end} with a plausible reply from the server. */
    private static void relay(io.opsec.stack.link.Link end, io.opsec.stack.link.Link out, long now) {
        for (ByteBuf p; (p = end.receive(now)) != null; ) {
            boolean syn = (p.getByte(33) & TcpFlags.SYN) != 0;
            p.release();
            out.transmit(syn
                    ? MiddleboxesTest.packet(0xC6120002, 0xC6120001, 443, 40000, TcpFlags.SYN | TcpFlags.ACK, 0, 101,
                            List.of(new TcpOption.Mss(1460)), "")
                    : MiddleboxesTest.packet(0xC6120002, 0xC6120001, 443, 40000, TcpFlags.ACK, 1, 101, List.of(), ""),
                    now);
        }
    }

    static boolean hasTshark() {
        try {
            Process p = new ProcessBuilder("tshark", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static List<String> tshark(Path file, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("tshark", "-n", "-r", file.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark hung");
        assertEquals(0, p.exitValue(), "tshark failed: " + out);
        return out.lines().filter(l -> !l.isBlank()).toList();
    }
}
