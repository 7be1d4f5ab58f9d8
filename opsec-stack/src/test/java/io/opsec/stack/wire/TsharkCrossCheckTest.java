package io.opsec.stack.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cross-checks our decoding of the wire vectors against an independent parser, Wireshark's
 * dissector through {@code tshark}: the vectors that parse, and those refused for a bad
 * checksum, go into a classic pcap (LINKTYPE_RAW), tshark reads it back with checksum
 * verification on and absolute sequence numbers, and every field both sides decode must agree.
 * Skipped, with a message saying so, only when tshark is not installed ({@code .ci/run}
 * installs it).
 */
class TsharkCrossCheckTest {
    private static final Logger log = LoggerFactory.getLogger(TsharkCrossCheckTest.class);
    private static final long TIMEOUT_SECONDS = 120;
    /** Classic pcap (not pcapng): magic, version 2.4, LINKTYPE_RAW, so each record is one IPv4 packet. */
    private static final int PCAP_MAGIC = 0xa1b2c3d4, LINKTYPE_RAW = 101, SNAPLEN = 65535;

    private static final List<String> FIELDS = List.of("frame.number", "ip.checksum.status", "tcp.checksum.status",
            "ip.src", "ip.dst", "ip.hdr_len", "ip.len", "ip.id", "ip.ttl", "ip.proto", "tcp.srcport", "tcp.dstport",
            "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.urgent_pointer", "tcp.hdr_len",
            "tcp.len", "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.timestamp.tsval",
            "tcp.options.timestamp.tsecr", "tcp.options.sack_le", "tcp.options.sack_re", "tcp.option_kind",
            "tcp.options.experimental.exid");

    @TempDir
    Path dir;

    @Test
    void tsharkDecodesEveryVectorAsWeDo() throws Exception {
        String tshark = findOnPath("tshark");
        assumeTrue(tshark != null, "tshark is not installed: the Wireshark cross-check is SKIPPED "
                + "(apt-get install tshark; .ci/run installs it)");

        List<WireVectors.Vector> vectors = WireVectors.all().stream()
                .filter(v -> v.isOk() || "IP_BAD_CHECKSUM".equals(v.error()) || "TCP_BAD_CHECKSUM".equals(v.error()))
                .toList();
        Path pcap = dir.resolve("vectors.pcap");
        writePcap(pcap, vectors);

        List<Map<String, String>> frames = runTshark(tshark, pcap);
        assertEquals(vectors.size(), frames.size(), "one decoded frame per vector");
        int checked = 0;
        int badChecksums = 0;
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < vectors.size(); i++) {
            WireVectors.Vector v = vectors.get(i);
            Map<String, String> f = frames.get(i);
            try {
                if (v.isOk()) {
                    compare(v, f);
                    checked++;
                } else {
                    String field = v.error().startsWith("IP_") ? "ip.checksum.status" : "tcp.checksum.status";
                    assertEquals("0", f.get(field), field + " (0 = bad)");
                    if (field.startsWith("tcp")) {
                        assertEquals("1", f.get("ip.checksum.status"), "the IPv4 checksum is good");
                    }
                    badChecksums++;
                }
            } catch (AssertionError e) {
                failures.add(v + " (frame " + (i + 1) + "): " + e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            fail("tshark disagrees on " + failures.size() + " vector(s):\n" + String.join("\n", failures));
        }
        assertTrue(checked >= 80, "at least 80 vectors cross-checked, got " + checked);
        log.info("tshark agreed on {} parsed vectors and flagged all {} bad-checksum vectors", checked, badChecksums);
    }

    private static void compare(WireVectors.Vector v, Map<String, String> f) {
        ByteBuf buf = Unpooled.wrappedBuffer(v.packet());
        try {
            TcpSegment seg = TcpSegment.parse(buf, v.codec()).value();
            Ipv4Header ip = seg.ip();
            TcpHeader tcp = seg.tcp();
            assertEquals("1", f.get("ip.checksum.status"), "ip checksum good");
            assertEquals("1", f.get("tcp.checksum.status"), "tcp checksum good");
            assertEquals(Ipv4Address.format(ip.source()), f.get("ip.src"), "ip.src");
            assertEquals(Ipv4Address.format(ip.destination()), f.get("ip.dst"), "ip.dst");
            assertEquals(ip.headerLength(), num(f, "ip.hdr_len"), "ip.hdr_len");
            assertEquals(ip.totalLength(), num(f, "ip.len"), "ip.len");
            assertEquals(ip.identification(), num(f, "ip.id"), "ip.id");
            assertEquals(ip.ttl(), num(f, "ip.ttl"), "ip.ttl");
            assertEquals(ip.protocol(), num(f, "ip.proto"), "ip.proto");
            assertEquals(tcp.sourcePort(), num(f, "tcp.srcport"), "tcp.srcport");
            assertEquals(tcp.destinationPort(), num(f, "tcp.dstport"), "tcp.dstport");
            assertEquals(Integer.toUnsignedLong(tcp.seq()), num(f, "tcp.seq_raw"), "tcp.seq_raw");
            if (tcp.has(TcpFlags.ACK) || !f.get("tcp.ack_raw").isEmpty()) {
                assertEquals(Integer.toUnsignedLong(tcp.ack()), num(f, "tcp.ack_raw"), "tcp.ack_raw");
            }
            // Wireshark's 12-bit flags field holds the reserved bits above the eight flags.
            assertEquals((tcp.reserved() << 8) | tcp.flags(), num(f, "tcp.flags"), "tcp.flags");
            assertEquals(tcp.window(), num(f, "tcp.window_size_value"), "tcp.window_size_value");
            assertEquals(tcp.urgentPointer(), num(f, "tcp.urgent_pointer"), "tcp.urgent_pointer");
            // The data offset as received (the value's headerLength() is what it would emit: see its Javadoc).
            assertEquals(seg.payloadIndex() - ip.headerLength(), num(f, "tcp.hdr_len"), "tcp.hdr_len");
            assertEquals(seg.payloadLength(), num(f, "tcp.len"), "tcp.len");

            List<TcpOption> opts = tcp.options();
            assertEquals(values(opts, TcpOption.Mss.class, o -> List.of((long) o.mss())), nums(f, "tcp.options.mss_val"),
                    "MSS");
            assertEquals(values(opts, TcpOption.WindowScale.class, o -> List.of((long) o.shift())),
                    nums(f, "tcp.options.wscale.shift"), "window scale");
            assertEquals(values(opts, TcpOption.Timestamps.class, o -> List.of(Integer.toUnsignedLong(o.tsVal()))),
                    nums(f, "tcp.options.timestamp.tsval"), "TSval");
            assertEquals(values(opts, TcpOption.Timestamps.class, o -> List.of(Integer.toUnsignedLong(o.tsEcr()))),
                    nums(f, "tcp.options.timestamp.tsecr"), "TSecr");
            assertEquals(values(opts, TcpOption.Sack.class, o -> o.blocks().stream()
                    .map(b -> Integer.toUnsignedLong(b.left())).toList()), nums(f, "tcp.options.sack_le"), "SACK left");
            assertEquals(values(opts, TcpOption.Sack.class, o -> o.blocks().stream()
                    .map(b -> Integer.toUnsignedLong(b.right())).toList()), nums(f, "tcp.options.sack_re"), "SACK right");
            // Option kinds in order. Wireshark lists each zero padding byte after EOL as another
            // EOL (and may read on past it), so compare up to and including the first EOL.
            List<Long> kinds = nums(f, "tcp.option_kind");
            int eol = kinds.indexOf(0L);
            List<Long> theirs = eol < 0 ? kinds : kinds.subList(0, eol + 1);
            assertEquals(opts.stream().map(o -> (long) o.kind()).toList(), theirs, "option kinds");
            // RFC 6994 experiment ids: ours on OPSEC options, the foreign ones on unknown 253/254 options.
            List<Long> exids = new ArrayList<>();
            for (TcpOption o : opts) {
                if (o instanceof OpsecOption op && op.framing() == OpsecOption.Framing.EXPERIMENTAL) {
                    exids.add((long) OpsecOption.EXID);
                } else if (o instanceof TcpOption.Unknown u && u.kind() >= 253 && u.data().length >= 2) {
                    exids.add((long) (((u.data()[0] & 0xFF) << 8) | (u.data()[1] & 0xFF)));
                }
            }
            assertEquals(exids, nums(f, "tcp.options.experimental.exid"), "experiment ids");
        } finally {
            buf.release();
        }
    }

    private static <T extends TcpOption> List<Long> values(List<TcpOption> opts, Class<T> type,
                                                           Function<T, List<Long>> f) {
        return opts.stream().filter(type::isInstance).map(type::cast).flatMap(o -> f.apply(o).stream()).toList();
    }

    private static long num(Map<String, String> f, String field) {
        List<Long> n = nums(f, field);
        assertEquals(1, n.size(), field + " = '" + f.get(field) + "'");
        return n.get(0);
    }

    private static List<Long> nums(Map<String, String> f, String field) {
        String s = f.get(field);
        if (s == null || s.isEmpty()) {
            return List.of();
        }
        return Arrays.stream(s.split(",")).map(x -> x.startsWith("0x") ? Long.parseLong(x.substring(2), 16)
                : Long.parseLong(x)).toList();
    }

    /** Classic pcap, little-endian headers, one record per vector with timestamps 1 s apart. */
    private static void writePcap(Path file, List<WireVectors.Vector> vectors) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer h = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(PCAP_MAGIC).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(SNAPLEN)
                    .putInt(LINKTYPE_RAW);
            out.write(h.array());
            int second = 0;
            for (WireVectors.Vector v : vectors) {
                ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                r.putInt(++second).putInt(0).putInt(v.packet().length).putInt(v.packet().length);
                out.write(r.array());
                out.write(v.packet());
            }
        }
    }

    private List<Map<String, String>> runTshark(String tshark, Path pcap) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(tshark, "-n", "-r", pcap.toString(),
                "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                "-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
                "-o", "tcp.desegment_tcp_streams:FALSE",
                "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"));
        for (String field : FIELDS) {
            cmd.add("-e");
            cmd.add(field);
        }
        Path stdout = dir.resolve("tshark.out");
        Path stderr = dir.resolve("tshark.err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        // A private, empty configuration: no user preferences or profiles change the decoding.
        Path home = Files.createDirectories(dir.resolve("home"));
        pb.environment().put("HOME", home.toString());
        pb.environment().put("XDG_CONFIG_HOME", home.toString());
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("tshark did not finish within " + TIMEOUT_SECONDS + " s");
        }
        String err = Files.readString(stderr, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> "tshark failed: " + String.join(" ", cmd) + "\n" + err);
        List<Map<String, String>> frames = new ArrayList<>();
        for (String line : Files.readAllLines(stdout, StandardCharsets.UTF_8)) {
            String[] cols = line.split("\t", -1);
            assertEquals(FIELDS.size(), cols.length, () -> "columns in '" + line + "'");
            frames.add(java.util.stream.IntStream.range(0, FIELDS.size()).boxed()
                    .collect(Collectors.toMap(FIELDS::get, c -> cols[c])));
        }
        return frames;
    }

    private static String findOnPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String d : path.split(File.pathSeparator)) {
            File f = new File(d, name);
            if (f.isFile() && f.canExecute()) {
                return f.getAbsolutePath();
            }
        }
        return null;
    }
}
