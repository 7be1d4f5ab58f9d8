package io.opsec.examples.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.examples.kernel.KernelPeers.Conn;
import io.opsec.examples.kernel.KernelPeers.Plan;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The kernel-to-kernel baseline: Linux TCP in one namespace against Linux TCP in another, over
 * the very path the stack under test uses (TUN, socat, the impairing relay, socat, TUN), under
 * each netem profile of issue 6. Every transfer is checked byte-exact by SHA-256 at both ends, its
 * goodput recorded, and the relay's capture run through tshark. The figures are what our stack's
 * own transfers are reported next to.
 */
@Tag("kernel")
class KernelBaselineTest {
    /**
     * Bytes per bulk transfer under a profile, the same for our stack ({@code KernelStackTest}) and
     * for this baseline so goodput compares; sized so the whole kernel suite stays near five
     * minutes in CI (docs/interop.md). {@code -Dkernel.bytes=N} overrides it, e.g. 52428800 for
     * the issue's 50 MiB.
     */
    static long sizeFor(Impairment p) {
        Long fixed = Long.getLong("kernel.bytes");
        if (fixed != null) {
            return fixed;
        }
        if (p == Impairment.COMBINED) {
            return 512L << 10;
        }
        if (p.delayMs() >= 50) {
            return 1L << 20;
        }
        if (p.delayMs() > 0) {
            return 2L << 20;
        }
        return 4L << 20;
    }

    /** Every profile of issue 6, or those named in {@code -Dkernel.profiles=clean,loss1} for a manual run. */
    static Stream<Impairment> profiles() {
        String only = System.getProperty("kernel.profiles", "").trim();
        if (only.isEmpty()) {
            return Impairment.ISSUE_PROFILES.stream();
        }
        java.util.Set<String> names = java.util.Set.of(only.split("\\s*,\\s*"));
        return Impairment.ISSUE_PROFILES.stream().filter(p -> names.contains(p.name()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("profiles")
    @Timeout(180)
    void kernelToKernel_downloadAndUpload_byteExact(Impairment profile) {
        long size = sizeFor(profile);
        try (KernelLab lab = KernelLab.open("baseline-" + profile.name())) {
            KernelLab.Namespace server = lab.namespace("s");
            KernelLab.Namespace client = lab.namespace("c");
            KernelLab.TunnelPair pair = lab.tunnelPair(server, client, 1, profile, 6, 1500);

            // Download: the server sends, the client receives.
            Proc srv = KernelPeers.serve(lab, server, pair.addressA(), 5001, Plan.send(size));
            Proc cli = KernelPeers.client(lab, client, pair.addressA(), 5001, Plan.receive());
            Conn down = exact(KernelPeers.results(srv, Duration.ofSeconds(150)).get(0),
                    KernelPeers.results(cli, Duration.ofSeconds(150)).get(0), size);

            // Upload: the client sends, the server receives.
            srv = KernelPeers.serve(lab, server, pair.addressA(), 5002, Plan.receive());
            cli = KernelPeers.client(lab, client, pair.addressA(), 5002, Plan.send(size));
            List<Conn> serverSide = KernelPeers.results(srv, Duration.ofSeconds(150));
            Conn up = exact(KernelPeers.results(cli, Duration.ofSeconds(150)).get(0), serverSide.get(0), size);

            pair.relay().close(); // flushes the tap
            assertImpairmentApplied(profile, pair.relay());
            Tshark.Analysis a = Tshark.analyse(pair.tap(), pair.addressB());
            // The tap holds what each kernel sent, before the relay's corruption: Linux never sends
            // a malformed packet or a bad checksum, so any here is the harness's fault.
            assertEquals(0, a.all().malformed(), a.all().summary());
            assertEquals(0, a.all().badIpChecksum() + a.all().badTcpChecksum(), a.all().summary());
            if (profile.loss() > 0) {
                assertTrue(a.all().retransmissions() > 0, "loss without retransmissions? " + a.all().summary());
            }
            Figures.record("kernel->kernel download", profile, size, down.secs(), a);
            Figures.record("kernel->kernel upload", profile, size, up.secs(), null);
            System.out.println("relay " + profile + ": a->b " + pair.relay().statsAtoB() + "; b->a "
                    + pair.relay().statsBtoA());
        }
    }

    /** A plain veth pair, unimpaired: the kernel's ceiling on this machine, for scale. */
    @Test
    @Timeout(120)
    void kernelToKernel_overVeth_clean() {
        long size = 32L << 20;
        try (KernelLab lab = KernelLab.open("baseline-veth")) {
            KernelLab.Namespace server = lab.namespace("s");
            KernelLab.Namespace client = lab.namespace("c");
            lab.veth(server, client, 2);
            Proc srv = KernelPeers.serve(lab, server, "198.18.2.1", 5001, Plan.send(size));
            Proc cli = KernelPeers.client(lab, client, "198.18.2.1", 5001, Plan.receive());
            Conn down = exact(KernelPeers.results(srv, Duration.ofSeconds(100)).get(0),
                    KernelPeers.results(cli, Duration.ofSeconds(100)).get(0), size);
            Figures.record("kernel->kernel veth download", Impairment.CLEAN, size, down.secs(), null);
        }
    }

    /** Sender and receiver agree on length and SHA-256, with no errors; returns the receiver's record. */
    static Conn exact(Conn sender, Conn receiver, long size) {
        assertNull(sender.error(), "sender: " + sender);
        assertNull(receiver.error(), "receiver: " + receiver);
        assertEquals(size, sender.txBytes(), "sender: " + sender);
        assertEquals(size, receiver.rxBytes(), "receiver: " + receiver);
        assertEquals(sender.txSha256(), receiver.rxSha256(), "SHA-256 of sent and received bytes");
        return receiver;
    }

    /** Each impairment the profile names really happened (a relay doing nothing would pass every test). */
    static void assertImpairmentApplied(Impairment p, ImpairedRelay relay) {
        long lost = relay.statsAtoB().lost.get() + relay.statsBtoA().lost.get();
        long dup = relay.statsAtoB().duplicated.get() + relay.statsBtoA().duplicated.get();
        long corrupt = relay.statsAtoB().corrupted.get() + relay.statsBtoA().corrupted.get();
        long early = relay.statsAtoB().reordered.get() + relay.statsBtoA().reordered.get();
        String stats = relay.statsAtoB() + " / " + relay.statsBtoA();
        assertEquals(p.loss() > 0, lost > 0, "loss: " + stats);
        assertEquals(p.duplicate() > 0, dup > 0, "duplication: " + stats);
        assertEquals(p.corrupt() > 0, corrupt > 0, "corruption: " + stats);
        assertEquals(p.reorder() > 0, early > 0, "reordering: " + stats);
    }
}
