package io.opsec.stack.conform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code docs/conformance.md} honest: every requirement of RFC 9293 Appendix B has a row,
 * every script the matrix names exists, and every {@code SomethingTest.method} it names exists.
 */
class ConformanceMatrixTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path DOC = REPO.resolve("docs/conformance.md");

    private static String doc() throws IOException {
        return Files.readString(DOC);
    }

    @Test
    void everyRequirementOfAppendixB_hasARow() throws IOException {
        String doc = doc();
        List<String> missing = new ArrayList<>();
        check(doc, "MUST", 69, missing);
        check(doc, "SHLD", 31, missing);
        check(doc, "MAY", 18, missing);
        assertEquals(List.of(), missing, "requirements without a row in docs/conformance.md");
    }

    private static void check(String doc, String kind, int n, List<String> missing) {
        for (int i = 1; i <= n; i++) {
            if (!Pattern.compile("(?m)^\\| " + kind + "-" + i + " \\|").matcher(doc).find()) {
                missing.add(kind + "-" + i);
            }
        }
    }

    @Test
    void everyScriptNamed_exists() throws IOException, URISyntaxException {
        Path root = Path.of(ConformanceMatrixTest.class.getResource("/packetdrill").toURI());
        List<String> scripts = new ArrayList<>();
        for (Path p : Conformance.find(List.of(root))) {
            scripts.add(root.relativize(p).toString().replace('\\', '/'));
        }
        Matcher m = Pattern.compile("`([A-Za-z0-9_./{},*-]+\\.pkt)`").matcher(doc());
        List<String> unknown = new ArrayList<>();
        int named = 0;
        while (m.find()) {
            named++;
            Pattern glob = Pattern.compile(globToRegex(m.group(1).replaceFirst("^packetdrill/", "")));
            if (scripts.stream().noneMatch(s -> glob.matcher(s).matches())) {
                unknown.add(m.group(1));
            }
        }
        assertTrue(named > 100, "the matrix names scripts: " + named);
        assertEquals(List.of(), unknown, "scripts named in docs/conformance.md that do not exist");
    }

    @Test
    void everyTestMethodNamed_exists() throws IOException {
        List<Path> sources;
        try (Stream<Path> s = Files.walk(REPO)) {
            sources = s.filter(p -> p.toString().contains("/src/test/java/") && p.toString().endsWith("Test.java"))
                    .toList();
        }
        Matcher m = Pattern.compile("([A-Z][A-Za-z0-9]*Test)\\.([a-z][A-Za-z0-9_]*)").matcher(doc());
        List<String> unknown = new ArrayList<>();
        int named = 0;
        while (m.find()) {
            if (m.group(2).equals("java")) {
                continue; // a file name, not a method
            }
            named++;
            String cls = m.group(1) + ".java";
            String method = "void " + m.group(2) + "(";
            boolean found = false;
            for (Path p : sources) {
                if (p.getFileName().toString().equals(cls) && Files.readString(p).contains(method)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                unknown.add(m.group());
            }
        }
        assertTrue(named > 20, "the matrix names tests: " + named);
        assertEquals(List.of(), unknown, "tests named in docs/conformance.md that do not exist");
    }

    /** {@code *} within a path segment, {@code {a,b}} alternatives. */
    static String globToRegex(String glob) {
        StringBuilder b = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> b.append("[^/]*");
                case '{' -> b.append("(?:");
                case '}' -> b.append(')');
                case ',' -> b.append('|');
                case '.' -> b.append("\\.");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
