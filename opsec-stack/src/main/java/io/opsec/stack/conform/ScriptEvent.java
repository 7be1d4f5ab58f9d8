package io.opsec.stack.conform;

import java.util.List;

/**
 * One line of a script: when it happens and what happens. Times are in microseconds of virtual
 * time. A relative time ({@code +0.1}) counts from the previous event's actual time; {@code *}
 * means "whenever" (an expected segment may come at any time, an action runs at once).
 */
public sealed interface ScriptEvent {
    /** The script line number, for messages. */
    int line();

    /** The line as written. */
    String text();

    Time time();

    /** When an event happens: absolute or relative start, an optional end for ranges ({@code 0.1~0.2}). */
    record Time(Kind kind, long startUs, long endUs) {
        public enum Kind { ABSOLUTE, RELATIVE, ANY }

        public static final Time ANY = new Time(Kind.ANY, 0, 0);

        public boolean isRange() {
            return endUs != startUs;
        }
    }

    /**
     * A segment: injected into the stack ({@code <}) or expected from it ({@code >}). Sequence
     * numbers are as the script writes them (see {@link ScriptRunner} for the remapping).
     *
     * @param inbound     {@code <}: the script's peer sends it
     * @param flags       TCP flag bits
     * @param seq         start sequence number (script's view)
     * @param len         payload length
     * @param ack         acknowledgment number, or {@code null} when not written
     * @param win         window field, or {@code null} when not written
     * @param options     the options, or {@code null} when none were written (expect: none allowed),
     *                    or {@link #ANY_OPTIONS} for {@code <...>}
     */
    record Segment(int line, String text, Time time, boolean inbound, int flags, long seq, int len, Long ack,
                   Integer win, List<OptionSpec> options) implements ScriptEvent {}

    /** {@code <...>}: any options. */
    List<OptionSpec> ANY_OPTIONS = List.of(new OptionSpec.Any());

    /**
     * A socket call: {@code name(args) = result [ERRNO]}.
     *
     * @param args   the arguments as written, split at top-level commas
     * @param result the expected return value
     * @param errno  the expected errno name, or {@code null}
     */
    record Call(int line, String text, Time time, String name, List<String> args, long result, String errno)
            implements ScriptEvent {}

    /**
     * A {@code %{ assert ... }%} block, restricted to comparisons of named values:
     * {@code assert tcpi_state == TCP_ESTABLISHED}.
     */
    record Assert(int line, String text, Time time, List<Check> checks) implements ScriptEvent {}

    /** One {@code assert name op value}. */
    record Check(String name, String op, String value) {
        @Override
        public String toString() {
            return name + " " + op + " " + value;
        }
    }
}
