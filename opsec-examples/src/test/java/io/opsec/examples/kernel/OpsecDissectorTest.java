package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.opsec.stack.wire.Ipv4Address;
import io.opsec.stack.wire.OpsecOption;
import io.opsec.stack.wire.TcpFlags;
import io.opsec.stack.wire.TcpHeader;
import io.opsec.stack.wire.TcpOption;
import io.opsec.stack.wire.TcpSegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tshark with {@code docs/wireshark/opsec.lua} decodes a handshake built by the wire package: the
 * proposal in the SYN, the selection in the SYN-ACK and the echo in the ACK; leaves other RFC 6994
 * experiments on kind 253 to Wireshark's own dissector; and decodes the literal framing only on the
 * kind its preference names. Needs tshark (installed by .ci/run), not root.
 */
class OpsecDissectorTest {
    private static final int CLIENT = Ipv4Address.parse("198.18.0.1");
    private static final int SERVER = Ipv4Address.parse("198.18.0.2");
    private static final int LITERAL_KIND = 172;

    private static Path script;

    @BeforeAll
    static void findScript() {
        KernelLab.requireTools("tshark"); // installed by .ci/run; never a silent skip
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("docs/wireshark/opsec.lua"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new AssertionError("docs/wireshark/opsec.lua not found above " + Path.of("").toAbsolutePath());
        }
        script = dir.resolve("docs/wireshark/opsec.lua");
    }

    @Test
    void handshake_proposalSelectionEcho_decode(@TempDir Path tmp) {
        Path pcap = tmp.resolve("opsec-handshake.pcap");
        try (PcapFile f = new PcapFile(pcap)) {
            write(f, CLIENT, SERVER, TcpHeader.of(40000, 7, 1000, 0, TcpFlags.SYN, 65535, List.of(
                    new TcpOption.Mss(1460), new TcpOption.SackPermitted(), OpsecOption.experimental(0, 7))));
            write(f, SERVER, CLIENT, TcpHeader.of(7, 40000, 5000, 1001, TcpFlags.SYN | TcpFlags.ACK, 65535, List.of(
                    new TcpOption.Mss(1460), new TcpOption.SackPermitted(), OpsecOption.experimental(0))));
            write(f, CLIENT, SERVER, TcpHeader.of(40000, 7, 1001, 5001, TcpFlags.ACK, 65535, List.of(
                    OpsecOption.experimental(0))));
            // TCP-ENO (RFC 8547) shares kind 253 under ExID 0x454E: not OPSEC.
            write(f, CLIENT, SERVER, TcpHeader.of(40001, 7, 2000, 0, TcpFlags.SYN, 65535, List.of(
                    new TcpOption.Unknown(253, new byte[] {0x45, 0x4E, 0x01}))));
            // The draft's literal framing on a configured kind.
            write(f, CLIENT, SERVER, TcpHeader.of(40002, 7, 3000, 0, TcpFlags.SYN, 65535, List.of(
                    OpsecOption.literal(LITERAL_KIND, 0))));
        }

        List<String[]> rows = decode(pcap, List.of());
        assertEquals("proposal|0,7|experimental|0x05ec", row(rows, 1));
        assertEquals("selection|0|experimental|0x05ec", row(rows, 2));
        assertEquals("echo|0|experimental|0x05ec", row(rows, 3));
        assertEquals("|||", row(rows, 4), "TCP-ENO's option is not OPSEC");
        assertEquals("0x454e", rows.get(3)[5], "Wireshark's own dissector still decodes other experiments");
        assertEquals("|||", row(rows, 5), "literal framing is off by default");

        List<String[]> literal = decode(pcap, List.of("-o", "opsec.literal_kind:" + LITERAL_KIND));
        assertEquals("proposal|0|literal|", row(literal, 5));
        assertEquals("proposal|0,7|experimental|0x05ec", row(literal, 1), "experimental framing still decoded");
    }

    /**
     * The capture {@code opsec demo} writes (two of our stacks, OPSEC secured): the dissector finds
     * one proposal, one selection, then the echo, each naming TLS (0). The initiator repeats the echo
     * on its segments until the responder acknowledges its data (a lost handshake ACK is covered;
     * see {@code Negotiation}), so there is at least one echo and nothing else after the selection.
     * With {@code --peer-without-opsec}, the proposal alone.
     */
    @Test
    void demoCapture_decodesProposalSelectionEcho(@TempDir Path tmp) {
        List<String> roles = demoRoles(tmp, "secured.pcap");
        assertTrue(roles.size() >= 3, roles.toString());
        assertEquals(List.of("proposal 0", "selection 0", "echo 0"), roles.subList(0, 3));
        assertTrue(roles.subList(3, roles.size()).stream().allMatch("echo 0"::equals), roles.toString());
        assertEquals(List.of("proposal 0"), demoRoles(tmp, "plain.pcap", "--peer-without-opsec"));
    }

    private static List<String> demoRoles(Path tmp, String name, String... extra) {
        Path pcap = tmp.resolve(name);
        List<String> args = new ArrayList<>(List.of("demo", "--pcap", pcap.toString()));
        args.addAll(List.of(extra));
        java.io.StringWriter out = new java.io.StringWriter();
        int status = io.opsec.examples.Main.run(args.toArray(String[]::new), new java.io.PrintWriter(out, true),
                new java.io.PrintWriter(out, true));
        assertEquals(0, status, out.toString());
        KernelLab.Result r = KernelLab.exec(List.of("tshark", "-n", "-X", "lua_script:" + script, "-r",
                pcap.toString(), "-Y", "opsec", "-T", "fields", "-E", "separator=/t", "-e", "opsec.role",
                "-e", "opsec.protocols"), Duration.ofSeconds(60));
        assertEquals(0, r.status(), r.output());
        List<String> roles = new ArrayList<>();
        for (String line : r.output().split("\n")) {
            String[] c = line.split("\t", -1);
            if (c.length == 2 && !c[0].isEmpty()) {
                roles.add(c[0] + " " + c[1]);
            }
        }
        return roles;
    }

    private static String row(List<String[]> rows, int frame) {
        String[] r = rows.get(frame - 1);
        assertEquals(Integer.toString(frame), r[0]);
        return r[1] + "|" + r[2] + "|" + r[3] + "|" + r[4];
    }

    private static List<String[]> decode(Path pcap, List<String> extra) {
        List<String> cmd = new ArrayList<>(List.of("tshark", "-n", "-X", "lua_script:" + script, "-r", pcap.toString()));
        cmd.addAll(extra);
        cmd.addAll(List.of("-T", "fields", "-E", "separator=/t", "-E", "occurrence=f", "-e", "frame.number",
                "-e", "opsec.role", "-e", "opsec.protocols", "-e", "opsec.framing", "-e", "opsec.exid",
                "-e", "tcp.options.experimental.exid"));
        KernelLab.Result r = KernelLab.exec(cmd, Duration.ofSeconds(60));
        assertEquals(0, r.status(), r.output());
        List<String[]> rows = new ArrayList<>();
        for (String line : r.output().split("\n")) {
            if (!line.isEmpty() && Character.isDigit(line.charAt(0))) {
                rows.add(line.split("\t", -1));
            }
        }
        if (r.output().contains("Lua: Error") || r.output().contains("lua_script")) {
            throw new AssertionError("the Lua script failed to load:\n" + r.output());
        }
        assertEquals(5, rows.size(), r.output());
        return rows;
    }

    private static void write(PcapFile f, int src, int dst, TcpHeader h) {
        ByteBuf b = Unpooled.buffer();
        try {
            TcpSegment.emit(b, src, dst, 1, h, null);
            byte[] bytes = new byte[b.readableBytes()];
            b.getBytes(b.readerIndex(), bytes);
            f.write(bytes, 0, bytes.length);
        } finally {
            b.release();
        }
    }
}
