package io.opsec.stack.conform;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs every script under {@code src/test/resources/packetdrill/} as one dynamic test. A script
 * marked {@code # status: known-failure <reason>} that fails is reported as aborted (skipped)
 * with its reason, never as passed; one that passes although marked is aborted too, with a
 * message asking for the status line to go.
 */
class ConformanceScriptsTest {
    private static Path root() throws URISyntaxException {
        return Path.of(ConformanceScriptsTest.class.getResource("/packetdrill").toURI());
    }

    @TestFactory
    Stream<DynamicTest> scripts() throws IOException, URISyntaxException {
        Path root = root();
        List<Path> files = Conformance.find(List.of(root));
        assertTrue(files.size() >= 200, "at least 200 scripts, found " + files.size());
        return files.stream().map(f -> DynamicTest.dynamicTest(root.relativize(f).toString(), f.toUri(), () -> {
            ScriptResult r = Conformance.runFile(f, PooledByteBufAllocator.DEFAULT);
            switch (r.status()) {
                case PASSED -> { }
                case FAILED -> fail(r.toString());
                case KNOWN_FAILURE -> Assumptions.abort("known failure: " + r.reason() + "\n" + r.message());
                case UNEXPECTED_PASS -> Assumptions.abort("marked known-failure (" + r.reason()
                        + ") but passes now: remove the status line and the row in docs/conformance.md");
            }
        }));
    }
}
