package io.opsec.stack.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The language-neutral wire vectors in {@code src-test-vectors/*.json} (format described in that
 * folder's README), read into Java values. Shared by the vector, tshark and fuzz-seed tests.
 */
final class WireVectors {
    static final String FORMAT = "opsec-wire-vectors/1";
    private static final HexFormat HEX = HexFormat.of();

    private WireVectors() {}

    /** One vector: the packet bytes and what a parser must make of them. */
    record Vector(String file, String name, String description, byte[] packet, Integer literalKind,
                  boolean canonical, JsonNode expect) {

        TcpOptions.Codec codec() {
            return literalKind == null ? TcpOptions.Codec.DEFAULT : TcpOptions.Codec.literal(literalKind);
        }

        /** The expected {@link ParseError} name, or {@code null} when the packet parses. */
        String error() {
            JsonNode e = expect.get("error");
            return e == null || e.isNull() ? null : e.asText();
        }

        boolean isOk() {
            return error() == null;
        }

        /** Whether the vector states the IPv4 header (JSON {@code null} and a missing field both mean no). */
        boolean hasIp() {
            return !expect.path("ip").isNull() && !expect.path("ip").isMissingNode();
        }

        JsonNode ipJson() {
            return expect.get("ip");
        }

        JsonNode tcpJson() {
            return expect.get("tcp");
        }

        byte[] payload() {
            return HEX.parseHex(expect.get("payload").asText());
        }

        Ipv4Header ip() {
            JsonNode ip = ipJson();
            return new Ipv4Header(ip.get("header_length").asInt(), ip.get("tos").asInt(), ip.get("total_length").asInt(),
                    ip.get("identification").asInt(), ip.get("flags_and_fragment").asInt(), ip.get("ttl").asInt(),
                    ip.get("protocol").asInt(), ip.get("checksum").asInt(), Ipv4Address.parse(ip.get("src").asText()),
                    Ipv4Address.parse(ip.get("dst").asText()));
        }

        TcpHeader tcp() {
            JsonNode t = tcpJson();
            List<TcpOption> options = new ArrayList<>();
            for (JsonNode o : t.get("options")) {
                options.add(option(o));
            }
            return new TcpHeader(t.get("src_port").asInt(), t.get("dst_port").asInt(), (int) t.get("seq").asLong(),
                    (int) t.get("ack").asLong(), t.get("reserved").asInt(), t.get("flags").asInt(),
                    t.get("window").asInt(), t.get("checksum").asInt(), t.get("urgent_pointer").asInt(), options);
        }

        @Override
        public String toString() {
            return file + ":" + name;
        }
    }

    /** The option a JSON option object describes. */
    static TcpOption option(JsonNode o) {
        String type = o.get("type").asText();
        int kind = o.get("kind").asInt();
        TcpOption opt = switch (type) {
            case "eol" -> new TcpOption.Eol();
            case "nop" -> new TcpOption.Nop();
            case "mss" -> new TcpOption.Mss(o.get("mss").asInt());
            case "window_scale" -> new TcpOption.WindowScale(o.get("shift").asInt());
            case "sack_permitted" -> new TcpOption.SackPermitted();
            case "sack" -> {
                List<TcpOption.SackBlock> blocks = new ArrayList<>();
                for (JsonNode b : o.get("blocks")) {
                    blocks.add(new TcpOption.SackBlock((int) b.get("left").asLong(), (int) b.get("right").asLong()));
                }
                yield new TcpOption.Sack(blocks);
            }
            case "timestamps" -> new TcpOption.Timestamps((int) o.get("tsval").asLong(), (int) o.get("tsecr").asLong());
            case "opsec" -> {
                byte[] ids = new byte[o.get("protocols").size()];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (byte) o.get("protocols").get(i).asInt();
                }
                boolean experimental = o.get("framing").asText().equals("experimental");
                if (experimental && o.get("exid").asInt() != OpsecOption.EXID) {
                    throw new IllegalArgumentException("an OPSEC option with ExID " + o.get("exid"));
                }
                yield new OpsecOption(experimental ? OpsecOption.Framing.EXPERIMENTAL : OpsecOption.Framing.LITERAL,
                        kind, ids);
            }
            case "unknown" -> new TcpOption.Unknown(kind, HEX.parseHex(o.get("data").asText()));
            default -> throw new IllegalArgumentException("unknown option type " + type);
        };
        if (opt.kind() != kind) {
            throw new IllegalArgumentException(type + " with kind " + kind);
        }
        return opt;
    }

    /** The folder holding the vectors: {@code src-test-vectors} at the repository root. */
    static Path directory() {
        Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        for (Path p = module.toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("src-test-vectors");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("src-test-vectors not found above " + module.toAbsolutePath());
    }

    /** Every vector of every file, in file-name order then file order. */
    static List<Vector> all() {
        ObjectMapper mapper = new ObjectMapper();
        List<Vector> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory())) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                JsonNode doc = mapper.readTree(f.toFile());
                if (!FORMAT.equals(doc.path("format").asText())) {
                    throw new IllegalStateException(f + ": format is not " + FORMAT);
                }
                for (JsonNode v : doc.get("vectors")) {
                    JsonNode lk = v.get("opsec_literal_kind");
                    out.add(new Vector(f.getFileName().toString(), v.get("name").asText(), v.get("description").asText(),
                            HEX.parseHex(v.get("packet").asText()), lk == null || lk.isNull() ? null : lk.asInt(),
                            v.get("canonical").asBoolean(), v.get("expect")));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
