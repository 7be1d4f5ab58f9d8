package io.opsec.stack.conform;

import io.opsec.stack.wire.TcpFlags;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads scripts in packetdrill's format (the subset documented in {@code docs/conformance.md}).
 * Pure: text in, a {@link Script} or a {@link ScriptException} naming the line out.
 */
public final class ScriptParser {
    private static final Pattern SEQ = Pattern.compile("(\\d+):(\\d+)\\((\\d+)\\)");
    private static final Pattern CALL = Pattern.compile("([a-z_]+)\\((.*)\\)\\s*=\\s*(-?\\d+)(?:\\s+([A-Z][A-Z0-9_]*))?(?:\\s*\\(.*\\))?\\s*");
    private static final Pattern CHECK = Pattern.compile("assert\\s+([A-Za-z_][A-Za-z0-9_]*)\\s*(==|!=|<=|>=|<|>)\\s*([^\\s;]+)");

    private ScriptParser() {}

    /** A script that cannot be read, with the line at fault. */
    public static final class ScriptException extends Exception {
        private final int line;

        public ScriptException(int line, String message) {
            super("line " + line + ": " + message);
            this.line = line;
        }

        public int line() {
            return line;
        }
    }

    public static Script parse(String name, String text) throws ScriptException {
        String[] lines = text.split("\r?\n", -1);
        Map<String, String> options = new LinkedHashMap<>();
        String knownFailure = null;
        List<ScriptEvent> events = new ArrayList<>();
        boolean inComment = false;
        for (int i = 0; i < lines.length; i++) {
            int lineNo = i + 1;
            String raw = lines[i];
            String l = raw;
            // block comments
            StringBuilder sb = new StringBuilder();
            int p = 0;
            while (p < l.length()) {
                if (inComment) {
                    int e = l.indexOf("*/", p);
                    if (e < 0) {
                        p = l.length();
                    } else {
                        inComment = false;
                        p = e + 2;
                    }
                } else {
                    int s = l.indexOf("/*", p);
                    if (s < 0) {
                        sb.append(l, p, l.length());
                        p = l.length();
                    } else {
                        sb.append(l, p, s);
                        inComment = true;
                        p = s + 2;
                    }
                }
            }
            l = sb.toString();
            String trimmed = l.strip();
            if (trimmed.startsWith("#") || trimmed.startsWith("//")) {
                String c = trimmed.replaceFirst("^(#|//)\\s*", "");
                if (c.startsWith("status:")) {
                    String st = c.substring("status:".length()).strip();
                    if (!st.startsWith("known-failure")) {
                        throw new ScriptException(lineNo, "unknown status '" + st + "' (only known-failure <reason>)");
                    }
                    knownFailure = st.substring("known-failure".length()).strip();
                    if (knownFailure.isEmpty()) {
                        throw new ScriptException(lineNo, "a known failure needs a reason");
                    }
                }
                continue;
            }
            int cmt = l.indexOf("//");
            if (cmt >= 0) {
                l = l.substring(0, cmt);
            }
            l = l.strip();
            if (l.isEmpty()) {
                continue;
            }
            if (l.startsWith("--")) {
                String o = l.substring(2);
                int eq = o.indexOf('=');
                options.put(eq < 0 ? o : o.substring(0, eq).strip(), eq < 0 ? "" : o.substring(eq + 1).strip());
                continue;
            }
            if (l.startsWith("`")) {
                throw new ScriptException(lineNo, "shell commands are not supported: " + l);
            }
            // %{ ... }% blocks may span lines
            int pct = l.indexOf("%{");
            if (pct >= 0 && !l.contains("}%")) {
                StringBuilder block = new StringBuilder(l);
                while (++i < lines.length) {
                    block.append('\n').append(lines[i]);
                    if (lines[i].contains("}%")) {
                        break;
                    }
                }
                l = block.toString();
            }
            events.add(parseEvent(lineNo, l));
        }
        if (inComment) {
            throw new ScriptException(lines.length, "unterminated /* comment");
        }
        return new Script(name, options, knownFailure, events);
    }

    private static ScriptEvent parseEvent(int line, String l) throws ScriptException {
        int sp = firstSpace(l);
        if (sp < 0) {
            throw new ScriptException(line, "expected '<time> <event>': " + l);
        }
        ScriptEvent.Time time = parseTime(line, l.substring(0, sp));
        String rest = l.substring(sp).strip();
        if (rest.startsWith("<") || rest.startsWith(">")) {
            return parseSegment(line, l, time, rest);
        }
        if (rest.startsWith("%{")) {
            int end = rest.lastIndexOf("}%");
            if (end < 0) {
                throw new ScriptException(line, "unterminated %{ block");
            }
            String body = rest.substring(2, end);
            List<ScriptEvent.Check> checks = new ArrayList<>();
            for (String stmt : body.split("[\n;]")) {
                String s = stmt.strip();
                if (s.isEmpty()) {
                    continue;
                }
                Matcher m = CHECK.matcher(s);
                if (!m.matches()) {
                    throw new ScriptException(line, "only 'assert <name> <op> <value>' is supported in %{ }%: " + s);
                }
                checks.add(new ScriptEvent.Check(m.group(1), m.group(2), m.group(3)));
            }
            return new ScriptEvent.Assert(line, l, time, checks);
        }
        Matcher m = CALL.matcher(rest);
        if (!m.matches()) {
            throw new ScriptException(line, "not a segment, a call 'name(args) = result' or an assert: " + rest);
        }
        return new ScriptEvent.Call(line, l, time, m.group(1), splitArgs(m.group(2)), Long.parseLong(m.group(3)),
                m.group(4));
    }

    private static int firstSpace(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isWhitespace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    static ScriptEvent.Time parseTime(int line, String t) throws ScriptException {
        if (t.equals("*")) {
            return ScriptEvent.Time.ANY;
        }
        String[] parts = t.split("~", -1);
        if (parts.length > 2) {
            throw new ScriptException(line, "bad time " + t);
        }
        boolean rel = parts[0].startsWith("+");
        long start = micros(line, rel ? parts[0].substring(1) : parts[0]);
        long end = start;
        if (parts.length == 2) {
            boolean rel2 = parts[1].startsWith("+");
            if (rel2 != rel) {
                throw new ScriptException(line, "both ends of a time range must be relative or absolute: " + t);
            }
            end = micros(line, rel2 ? parts[1].substring(1) : parts[1]);
            if (end < start) {
                throw new ScriptException(line, "time range ends before it starts: " + t);
            }
        }
        return new ScriptEvent.Time(rel ? ScriptEvent.Time.Kind.RELATIVE : ScriptEvent.Time.Kind.ABSOLUTE, start, end);
    }

    private static long micros(int line, String s) throws ScriptException {
        if (!s.matches("\\d*(\\.\\d*)?") || s.isEmpty() || s.equals(".")) {
            throw new ScriptException(line, "bad time '" + s + "' (seconds, e.g. 0.100 or +.1)");
        }
        return new java.math.BigDecimal(s.startsWith(".") ? "0" + s : s).movePointRight(6).setScale(0,
                java.math.RoundingMode.HALF_UP).longValueExact();
    }

    private static ScriptEvent.Segment parseSegment(int line, String l, ScriptEvent.Time time, String rest)
            throws ScriptException {
        boolean inbound = rest.charAt(0) == '<';
        String body = rest.substring(1).strip();
        List<OptionSpec> options = null;
        int lt = body.indexOf('<');
        if (lt >= 0) {
            int gt = body.lastIndexOf('>');
            if (gt < lt) {
                throw new ScriptException(line, "unterminated option list: " + body);
            }
            if (!body.substring(gt + 1).isBlank()) {
                throw new ScriptException(line, "nothing may follow the option list: " + body.substring(gt + 1));
            }
            options = parseOptions(line, body.substring(lt + 1, gt).strip());
            body = body.substring(0, lt).strip();
        }
        String[] tok = body.split("\\s+");
        if (tok.length < 2) {
            throw new ScriptException(line, "a segment needs flags and seq:end(len): " + rest);
        }
        int flags = parseFlags(line, tok[0]);
        Matcher m = SEQ.matcher(tok[1]);
        if (!m.matches()) {
            throw new ScriptException(line, "expected seq:end(len), got " + tok[1]);
        }
        long seq = u32(line, m.group(1));
        long end = u32(line, m.group(2));
        int len = Integer.parseInt(m.group(3));
        if (((seq + len) & 0xFFFFFFFFL) != end) {
            throw new ScriptException(line, tok[1] + ": end must be seq + len");
        }
        Long ack = null;
        Integer win = null;
        for (int i = 2; i < tok.length; i += 2) {
            if (i + 1 >= tok.length) {
                throw new ScriptException(line, "'" + tok[i] + "' needs a value");
            }
            switch (tok[i]) {
                case "ack" -> ack = u32(line, tok[i + 1]);
                case "win" -> {
                    long w = u32(line, tok[i + 1]);
                    if (w > 0xFFFF) {
                        throw new ScriptException(line, "win " + w + " does not fit 16 bits");
                    }
                    win = (int) w;
                }
                default -> throw new ScriptException(line, "unsupported segment field '" + tok[i] + "'");
            }
        }
        return new ScriptEvent.Segment(line, l, time, inbound, flags, seq, len, ack, win, options);
    }

    static int parseFlags(int line, String f) throws ScriptException {
        int flags = 0;
        for (char c : f.toCharArray()) {
            flags |= switch (c) {
                case 'S' -> TcpFlags.SYN;
                case 'F' -> TcpFlags.FIN;
                case 'R' -> TcpFlags.RST;
                case 'P' -> TcpFlags.PSH;
                case '.' -> TcpFlags.ACK;
                case 'U' -> TcpFlags.URG;
                case 'E' -> TcpFlags.ECE;
                case 'W' -> TcpFlags.CWR;
                case '-' -> 0;
                default -> throw new ScriptException(line, "unknown flag '" + c + "' in " + f);
            };
        }
        return flags;
    }

    private static long u32(int line, String s) throws ScriptException {
        try {
            long v = Long.parseLong(s);
            if (v < 0 || v > 0xFFFFFFFFL) {
                throw new ScriptException(line, s + " is not a 32-bit unsigned number");
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ScriptException(line, "not a number: " + s);
        }
    }

    static List<OptionSpec> parseOptions(int line, String s) throws ScriptException {
        if (s.equals("...")) {
            return ScriptEvent.ANY_OPTIONS;
        }
        List<OptionSpec> out = new ArrayList<>();
        if (s.isEmpty()) {
            return out;
        }
        for (String part : splitTop(s)) {
            String o = part.strip();
            String[] w = o.split("\\s+");
            try {
                if (o.equals("nop")) {
                    out.add(new OptionSpec.Nop());
                } else if (o.equals("eol")) {
                    out.add(new OptionSpec.Eol());
                } else if (o.equals("sackOK")) {
                    out.add(new OptionSpec.SackOk());
                } else if (w[0].equals("mss") && w.length == 2) {
                    out.add(new OptionSpec.Mss(Integer.parseInt(w[1])));
                } else if (w[0].equals("wscale") && w.length == 2) {
                    out.add(new OptionSpec.WindowScale(Integer.parseInt(w[1])));
                } else if (w[0].equals("TS") && w.length == 5 && w[1].equals("val") && w[3].equals("ecr")) {
                    out.add(new OptionSpec.Timestamps(u32(line, w[2]), u32(line, w[4])));
                } else if (w[0].equals("sack") && w.length >= 2) {
                    List<long[]> blocks = new ArrayList<>();
                    for (int i = 1; i < w.length; i++) {
                        String[] ab = w[i].split(":");
                        if (ab.length != 2) {
                            throw new ScriptException(line, "SACK block must be left:right, got " + w[i]);
                        }
                        blocks.add(new long[] {u32(line, ab[0]), u32(line, ab[1])});
                    }
                    out.add(new OptionSpec.Sack(blocks));
                } else if (o.startsWith("opsec")) {
                    out.add(parseOpsec(line, o));
                } else if (o.startsWith("raw(")) {
                    int close = o.indexOf(')');
                    int kind = Integer.parseInt(o.substring(4, close).strip());
                    String hex = o.substring(close + 1).strip();
                    out.add(new OptionSpec.Raw(kind, HexFormat.of().parseHex(hex)));
                } else {
                    throw new ScriptException(line, "unsupported option '" + o + "'");
                }
            } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
                throw new ScriptException(line, "bad option '" + o + "': " + e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new ScriptException(line, "bad option '" + o + "': " + e.getMessage());
            }
        }
        return out;
    }

    /** {@code opsec [0,1]}, {@code opsec []}, {@code opsec-literal(200) [0]}. */
    private static OptionSpec parseOpsec(int line, String o) throws ScriptException {
        int kind = -1;
        String rest;
        if (o.startsWith("opsec-literal(")) {
            int close = o.indexOf(')');
            kind = Integer.parseInt(o.substring("opsec-literal(".length(), close).strip());
            rest = o.substring(close + 1).strip();
        } else {
            rest = o.substring("opsec".length()).strip();
        }
        if (!rest.startsWith("[") || !rest.endsWith("]")) {
            throw new ScriptException(line, "OPSEC option needs a protocol list in brackets: " + o);
        }
        String inner = rest.substring(1, rest.length() - 1).strip();
        String[] ids = inner.isEmpty() ? new String[0] : inner.split("\\s*,\\s*");
        int[] p = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            p[i] = ids[i].equals("tls") ? 0 : Integer.parseInt(ids[i]);
            if (p[i] < 0 || p[i] > 255) {
                throw new ScriptException(line, "protocol id " + p[i] + " out of 0..255");
            }
        }
        return new OptionSpec.Opsec(kind, p);
    }

    /** Splits at commas not inside brackets. */
    private static List<String> splitTop(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '[' || c == '{' || c == '(') {
                depth++;
            } else if (c == ']' || c == '}' || c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }

    static List<String> splitArgs(String s) {
        List<String> out = new ArrayList<>();
        if (s.isBlank()) {
            return out;
        }
        for (String p : splitTop(s)) {
            out.add(p.strip());
        }
        return out;
    }
}
