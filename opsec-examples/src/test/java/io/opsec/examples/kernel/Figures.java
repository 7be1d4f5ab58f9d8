package io.opsec.examples.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Measured figures, one tab-separated line per transfer, appended to
 * {@code target/kernel-lab/figures.tsv} (and echoed to stdout) so {@code docs/interop.md} can be
 * refreshed from a run.
 */
final class Figures {
    private static final Path FILE = Path.of("target", "kernel-lab", "figures.tsv").toAbsolutePath();

    private Figures() {}

    static synchronized void record(String scenario, Impairment profile, long bytes, double secs,
                                    Tshark.Analysis analysis) {
        String line = String.format(Locale.ROOT, "%s\t%s\t%d\t%.3f\t%.2f\t%s", scenario, profile.name(), bytes, secs,
                secs <= 0 ? 0 : bytes / secs / (1 << 20), analysis == null ? "" : analysis.all().summary());
        System.out.println("figure: " + line);
        try {
            Files.createDirectories(FILE.getParent());
            if (!Files.exists(FILE)) {
                Files.writeString(FILE, "scenario\tprofile\tbytes\tsecs\tMiB/s\ttshark (all packets)\n",
                        StandardCharsets.UTF_8);
            }
            Files.writeString(FILE, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
