package io.opsec.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Where a session writes its secrets in the NSS key log format, so that Wireshark (or tshark's
 * {@code tls.keylog_file}) can decrypt a capture of the connection. For TLS 1.2 each completed
 * handshake yields one line:
 * <pre>CLIENT_RANDOM &lt;64 hex digits of client_random&gt; &lt;96 hex digits of master_secret&gt;</pre>
 *
 * <p><b>For debugging only.</b> Anyone who reads the log can decrypt every logged connection.
 * Nothing is logged unless a key log is configured on the protocol.
 *
 * <p>Implementations must be thread-safe (sessions of one protocol run on many connections) and
 * should be quick: they are called on the connection's event loop.
 */
@FunctionalInterface
public interface KeyLog {

    /** Records one line (without its line terminator). */
    void write(String line);

    /**
     * A key log that appends lines to {@code file}, creating it if needed. Each line is written
     * and closed at once, so a reader sees whole lines. An I/O failure is thrown as
     * {@link UncheckedIOException}; it does not fail the TLS session (see
     * {@link TlsSecurityProtocol.Builder#keyLog(KeyLog)}).
     */
    static KeyLog appendingTo(Path file) {
        Objects.requireNonNull(file, "file");
        return new KeyLog() {
            @Override
            public synchronized void write(String line) {
                try {
                    Files.writeString(file, line + "\n", StandardCharsets.US_ASCII,
                            StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
                } catch (IOException e) {
                    throw new UncheckedIOException("key log " + file, e);
                }
            }

            @Override
            public String toString() {
                return "KeyLog(" + file + ")";
            }
        };
    }

    /** The NSS key log line for a TLS 1.2 connection. */
    static String clientRandomLine(byte[] clientRandom, byte[] masterSecret) {
        HexFormat hex = HexFormat.of();
        return "CLIENT_RANDOM " + hex.formatHex(clientRandom) + " " + hex.formatHex(masterSecret);
    }
}
