package io.opsec.examples.bench;

import io.opsec.stack.link.Impairments;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Plain throughput of two stacks on a MemoryLink against the link's MTU (no loss) and against
 * its loss rate (MTU 1500, the same loss each way, seeded), on real time: each point writes for a
 * fixed time on a fresh pair of stacks. Writes {@code mtu.csv}, {@code loss.csv} and an SVG plot
 * of both, with kernel loopback's figure as a reference line on the MTU panel.
 */
public final class Sweep {
    static final int[] MTUS = {576, 1280, 1500, 4096, 9000, 16384, 32768, 65535};
    static final double[] LOSSES = {0, 0.001, 0.005, 0.01, 0.02, 0.05};

    private final double seconds;
    private final PrintWriter progress;

    public Sweep(Bench.Size size, PrintWriter progress) {
        this.seconds = switch (size) {
            case TINY -> 0.2;
            case QUICK -> 1.0;
            case FULL -> 3.0;
        };
        this.progress = progress;
    }

    /** Runs both sweeps and writes the files into {@code dir}. */
    public void run(Path dir) throws IOException {
        Files.createDirectories(dir);
        double kernel = point("sweep: kernel loopback", Endpoints.kernel(Endpoints.PLAIN));
        List<double[]> byMtu = new ArrayList<>();
        for (int mtu : MTUS) {
            byMtu.add(new double[] {mtu, point("sweep: MTU " + mtu, Endpoints.stacks(mtu, Endpoints.PLAIN, Impairments.NONE))});
        }
        List<double[]> byLoss = new ArrayList<>();
        for (double loss : LOSSES) {
            Impairments imp = loss == 0 ? Impairments.NONE : Impairments.builder().loss(loss).build();
            byLoss.add(new double[] {loss * 100, point("sweep: loss " + loss, Endpoints.stacks(1500, Endpoints.PLAIN, imp))});
        }
        write(dir.resolve("mtu.csv"), "mtu,mib_per_s", byMtu);
        write(dir.resolve("loss.csv"), "loss_percent,mib_per_s", byLoss);
        Files.writeString(dir.resolve("throughput.svg"), svg(byMtu, byLoss, kernel), StandardCharsets.UTF_8);
        progress.println("# sweep written to " + dir);
    }

    private double point(String what, Endpoints.Factory factory) {
        progress.print("# " + what + " ... ");
        progress.flush();
        try (factory; Endpoints.Connection c = factory.connect(false)) {
            double r = Bulk.forSeconds(c, seconds);
            progress.printf(Locale.ROOT, "%.1f MiB/s%n", r);
            return r;
        } catch (IOException | RuntimeException e) {
            progress.println("FAILED: " + e.getMessage());
            return Double.NaN;
        } finally {
            progress.flush();
        }
    }

    private static void write(Path file, String header, List<double[]> rows) throws IOException {
        StringBuilder sb = new StringBuilder(header).append('\n');
        for (double[] r : rows) {
            sb.append(String.format(Locale.ROOT, "%s,%.1f%n", trim(r[0]), r[1]));
        }
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    // ------------------------------------------------------------------ the plot

    private static final int W = 420;
    private static final int H = 300;
    private static final int L = 60;
    private static final int R = 20;
    private static final int T = 40;
    private static final int B = 50;

    static String svg(List<double[]> byMtu, List<double[]> byLoss, double kernel) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"11\">%n", 2 * W, H));
        s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        double yMax = niceMax(Math.max(kernel, max(byMtu)));
        panel(s, 0, "Plain throughput vs MTU (MemoryLink, no loss)", "MTU (bytes, log scale)", byMtu, true, yMax,
                kernel, "kernel loopback");
        panel(s, W, "Plain throughput vs loss (MTU 1500, real time)", "loss each way (%)", byLoss, false,
                niceMax(max(byLoss)), Double.NaN, null);
        s.append("</svg>\n");
        return s.toString();
    }

    private static void panel(StringBuilder s, int x0, String title, String xLabel, List<double[]> pts, boolean logX,
                              double yMax, double refLine, String refLabel) {
        double xMin = logX ? Math.log10(pts.get(0)[0]) : pts.get(0)[0];
        double xMax = logX ? Math.log10(pts.get(pts.size() - 1)[0]) : pts.get(pts.size() - 1)[0];
        int pw = W - L - R;
        int ph = H - T - B;
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">%s</text>%n",
                x0 + W / 2, title));
        s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>%n",
                x0 + L, T, pw, ph));
        for (int i = 0; i <= 4; i++) {
            double v = yMax * i / 4;
            double y = T + ph - ph * i / 4.0;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n",
                    x0 + L, y, x0 + L + pw, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>%n",
                    x0 + L - 5, y + 4, v));
        }
        s.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-90)\" text-anchor=\"middle\">MiB/s</text>%n",
                x0 + 15, T + ph / 2));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                x0 + L + pw / 2, H - 10, xLabel));
        StringBuilder line = new StringBuilder();
        double lastLabel = Double.NEGATIVE_INFINITY;
        for (double[] p : pts) {
            double xv = logX ? Math.log10(p[0]) : p[0];
            double px = x0 + L + (xMax == xMin ? 0 : (xv - xMin) / (xMax - xMin) * pw);
            if (px - lastLabel >= 28) { // skip a tick label that would overlap the previous one
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                        px, T + ph + 15, trim(p[0])));
                lastLabel = px;
            }
            if (Double.isNaN(p[1])) {
                continue;
            }
            double py = T + ph - Math.min(1, p[1] / yMax) * ph;
            line.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
            s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"/>%n", px, py));
        }
        s.append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"").append(line).append("\"/>\n");
        if (!Double.isNaN(refLine)) {
            double y = T + ph - Math.min(1, refLine / yMax) * ph;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#d62728\" "
                    + "stroke-dasharray=\"5,4\"/>%n", x0 + L, y, x0 + L + pw, y));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" fill=\"#d62728\">%s %.0f MiB/s</text>%n",
                    x0 + L + 5, y - 4, refLabel, refLine));
        }
    }

    private static double max(List<double[]> pts) {
        double m = 1;
        for (double[] p : pts) {
            if (!Double.isNaN(p[1])) {
                m = Math.max(m, p[1]);
            }
        }
        return m;
    }

    /** A round axis maximum at or above {@code v}. */
    static double niceMax(double v) {
        double mag = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 2.5, 5, 10}) {
            if (step * mag >= v) {
                return step * mag;
            }
        }
        return 10 * mag;
    }
}
