package io.opsec.examples.nc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.examples.Main;
import io.opsec.examples.NcCommand;
import io.opsec.stack.opsec.OpsecMode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * {@code opsec nc} argument parsing, in process: what a good command line means, and that every
 * bad one gives exit status 2 with exactly one error line and the usage hint, before any socket
 * is opened.
 */
class NcArgumentsTest {
    private static final String TUNNEL = "--udp-bind 127.0.0.1:7001 --udp-peer 127.0.0.1:7002";

    @Test
    void client_defaults() {
        NcCommand.Plan p = plan("--ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7");
        assertFalse(p.listen());
        assertFalse(p.keep());
        assertEquals("198.18.0.1", p.ip());
        assertEquals(new InetSocketAddress("127.0.0.1", 7001), p.udpBind());
        assertEquals(new InetSocketAddress("127.0.0.1", 7002), p.udpPeer());
        assertEquals(OpsecMode.OPPORTUNISTIC, p.mode(), "--opsec on is the default");
        assertEquals(1500, p.mtu());
        assertNull(p.pcap());
        assertNull(p.keylog());
        assertEquals(30_000, p.connectTimeoutMillis());
        assertEquals("198.18.0.2", p.host());
        assertEquals(7, p.port());
    }

    @Test
    void listener_everyOption() {
        NcCommand.Plan p = plan("-l -k -v --ip 198.18.0.2 --udp-bind 127.0.0.1:0 --udp-peer localhost:7001"
                + " --opsec require --pcap out.pcap --keylog keys.txt --mtu 9000 --connect-timeout 5 7");
        assertTrue(p.listen());
        assertTrue(p.keep());
        assertTrue(p.verbose());
        assertEquals(0, p.udpBind().getPort(), "an ephemeral UDP port is allowed for the local end");
        assertTrue(p.udpPeer().getAddress().isLoopbackAddress());
        assertEquals(OpsecMode.REQUIRED, p.mode());
        assertEquals(Path.of("out.pcap"), p.pcap());
        assertEquals(Path.of("keys.txt"), p.keylog());
        assertEquals(9000, p.mtu());
        assertEquals(5_000, p.connectTimeoutMillis());
        assertNull(p.host());
        assertEquals(7, p.port());
    }

    @ParameterizedTest
    @CsvSource({"off, OFF", "on, OPPORTUNISTIC", "require, REQUIRED"})
    void opsecValues(String value, OpsecMode mode) {
        assertEquals(mode, plan("--opsec " + value + " --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7").mode());
    }

    @ParameterizedTest
    @CsvSource({"576", "1500", "65507"})
    void mtuInRange(int mtu) {
        assertEquals(mtu, plan("--mtu " + mtu + " --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7").mtu());
    }

    @Test
    void listenerMayNameItsOwnAddressOrTheWildcard() {
        assertEquals("198.18.0.2", plan("-l --ip 198.18.0.2 " + TUNNEL + " 198.18.0.2 7").host());
        assertEquals("0.0.0.0", plan("-l --ip 198.18.0.2 " + TUNNEL + " 0.0.0.0 7").host());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--ip 198.18.0 " + TUNNEL + " 198.18.0.2 7"
                    + "| --ip must be a dotted IPv4 address such as 198.18.0.1, not '198.18.0'",
            "--ip 198.18.0.1 " + TUNNEL + " 198.18.0.x 7"
                    + "| HOST must be a dotted IPv4 address such as 198.18.0.1, not '198.18.0.x'",
            "--ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 0| PORT must be a number in 1..65535, not '0'",
            "--ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 http| PORT must be a number in 1..65535, not 'http'",
            "--ip 198.18.0.1 " + TUNNEL + "| missing PORT",
            "--ip 198.18.0.1 " + TUNNEL + " 7| missing HOST: give the address to connect to before PORT (or -l to listen)",
            "-k --ip 198.18.0.2 " + TUNNEL + " 7| -k needs -l: only a listener can accept one connection after another",
            "--mtu 575 --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7| --mtu must be in 576..65535, not 575",
            "--mtu 65536 --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7| --mtu must be in 576..65535, not 65536",
            "--mtu 65508 --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7"
                    + "| --mtu 65508 does not fit in one UDP datagram: at most 65507",
            "--mtu big --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7"
                    + "| Invalid value for option '--mtu': 'big' is not an int",
            "--opsec maybe --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7"
                    + "| Invalid value for option '--opsec': expected one of [off, on, require] (case-sensitive)"
                    + " but was 'maybe'",
            "--udp-bind 127.0.0.1:7001 --udp-peer 127.0.0.1:7002 198.18.0.2 7| Missing required option: '--ip=ADDR'",
            "--ip 198.18.0.1 --udp-bind 127.0.0.1:7001 198.18.0.2 7"
                    + "| Missing required option: '--udp-peer=HOST:PORT'",
            "--ip 198.18.0.1 --udp-bind 127.0.0.1:7001 --udp-peer 127.0.0.1:0 198.18.0.2 7"
                    + "| --udp-peer port must be a number in 1..65535, not '0'",
            "--ip 198.18.0.1 --udp-bind 127.0.0.1:99999 --udp-peer 127.0.0.1:7002 198.18.0.2 7"
                    + "| --udp-bind port must be a number in 0..65535, not '99999'",
            "--ip 198.18.0.1 --udp-bind :7001 --udp-peer 127.0.0.1:7002 198.18.0.2 7"
                    + "| --udp-bind must be HOST:PORT, such as 127.0.0.1:7001, not ':7001'",
            "-l --ip 198.18.0.2 " + TUNNEL + " 198.18.0.3 7| cannot listen on 198.18.0.3: this stack's address is 198.18.0.2",
            "--connect-timeout 0 --ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7"
                    + "| --connect-timeout must be at least 1 second, not 0",
            "--ip 198.18.0.1 " + TUNNEL + " 198.18.0.2 7 8| too many arguments: '198.18.0.2 7 8' (expected [HOST] PORT)",
    })
    void badArguments_exit2_oneLinePlusHint(String args, String message) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(split("nc " + args), new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(2, status, err.toString());
        assertEquals(List.of("opsec: " + message.strip(), "Try 'opsec nc --help' for usage."),
                err.toString().lines().toList());
        assertEquals("", out.toString());
    }

    @Test
    void help_exit0_namesEveryOption() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, Main.run(new String[] {"nc", "--help"}, new PrintWriter(out, true), new PrintWriter(err, true)));
        for (String option : List.of("-l", "-k", "--ip", "--udp-bind", "--udp-peer", "--opsec", "--pcap", "--mtu",
                "[HOST] PORT")) {
            assertTrue(out.toString().contains(option), option + " in:\n" + out);
        }
        assertEquals("", err.toString());
    }

    private static NcCommand.Plan plan(String args) {
        CommandLine cl = new CommandLine(new Main());
        CommandLine.ParseResult parsed = cl.parseArgs(split("nc " + args));
        NcCommand nc = parsed.subcommand().commandSpec().commandLine().getCommand();
        return nc.plan();
    }

    private static String[] split(String args) {
        List<String> out = new ArrayList<>(List.of(args.trim().split("\\s+")));
        return out.toArray(String[]::new);
    }
}
