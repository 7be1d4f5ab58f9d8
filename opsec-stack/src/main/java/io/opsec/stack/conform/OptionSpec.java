package io.opsec.stack.conform;

import java.util.List;

/** One TCP option as a script writes it between {@code <} and {@code >}. */
public sealed interface OptionSpec {
    /** {@code nop} */
    record Nop() implements OptionSpec {}

    /** {@code eol} */
    record Eol() implements OptionSpec {}

    /** {@code mss N} */
    record Mss(int mss) implements OptionSpec {}

    /** {@code wscale N} */
    record WindowScale(int shift) implements OptionSpec {}

    /** {@code sackOK} */
    record SackOk() implements OptionSpec {}

    /** {@code sack A:B C:D} (script sequence numbers) */
    record Sack(List<long[]> blocks) implements OptionSpec {}

    /** {@code TS val V ecr E} */
    record Timestamps(long val, long ecr) implements OptionSpec {}

    /**
     * {@code opsec [0,1]} (kind 253, ExID 0x05EC) or {@code opsec-literal(K) [0]} (the draft's
     * literal framing with kind K); {@code kind} is -1 for the experimental framing.
     */
    record Opsec(int kind, int[] protocols) implements OptionSpec {}

    /** {@code raw(K) hexbytes}: any other option, kind and data bytes (length is derived). */
    record Raw(int kind, byte[] data) implements OptionSpec {}

    /** {@code ...}: anything (only as the whole option list). */
    record Any() implements OptionSpec {}
}
