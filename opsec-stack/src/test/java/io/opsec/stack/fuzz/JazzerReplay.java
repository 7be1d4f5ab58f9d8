package io.opsec.stack.fuzz;

/**
 * Turns Jazzer's hooks off when a fuzz test only replays its inputs (no {@code JAZZER_FUZZ}):
 * they steer the fuzzer and cost a replay ten seconds or more to load (see
 * {@code docs/fuzzing.md}). Call from {@code @BeforeAll}; {@link #restore()} from {@code @AfterAll}.
 */
final class JazzerReplay {
    private static final String HOOKS = "jazzer.hooks";
    private static String saved;

    private JazzerReplay() {}

    static void fastReplay() {
        String fuzz = System.getenv("JAZZER_FUZZ");
        saved = System.getProperty(HOOKS);
        if ((fuzz == null || fuzz.isEmpty()) && saved == null) {
            System.setProperty(HOOKS, "false");
        }
    }

    static void restore() {
        if (saved == null) {
            System.clearProperty(HOOKS);
        }
    }
}
