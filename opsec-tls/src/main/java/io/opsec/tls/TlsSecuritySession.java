package io.opsec.tls;

import java.io.IOException;
import java.util.Arrays;

import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.Certificate;
import org.bouncycastle.tls.SecurityParameters;
import org.bouncycastle.tls.TlsContext;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.bouncycastle.tls.TlsProtocol;
import org.bouncycastle.tls.crypto.TlsCertificate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.opsec.stack.opsec.SecurityContext;
import io.opsec.stack.opsec.SecurityFailure;
import io.opsec.stack.opsec.SecuritySession;
import io.opsec.stack.opsec.SessionInfo;
import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/**
 * One connection's TLS 1.2 association, over BouncyCastle's non-blocking engine: bytes go in
 * with {@code offerInput} and come out with {@code readOutput}/{@code readInput}; the owner drains
 * after every call (see {@link SecuritySession} for the contract and buffer ownership).
 *
 * <p>Borrowed buffers are copied into a private scratch array before the engine sees them,
 * because BouncyCastle decrypts records in place in the array it is given: handing it a caller's
 * buffer would overwrite bytes the caller still owns.
 */
final class TlsSecuritySession implements SecuritySession, PeerEvents {

    private static final Logger log = LoggerFactory.getLogger(TlsSecuritySession.class);

    /** Room for one maximal TLS 1.2 record (2^14 + 2048 + header), so full records pass in one call. */
    private static final int SCRATCH_SIZE = 16384 + 2048 + 5;

    private final TlsSecurityProtocol.TlsConfig config;
    private final SecurityContext context;
    private final byte[] scratch = new byte[SCRATCH_SIZE];

    private Engines.HalfClose engine;
    private TlsProtocol protocol;
    private boolean established;
    private boolean outboundClosed;
    /** Closed before the handshake finished: input is ignored, nothing more is expected. */
    private boolean abandoned;
    private SessionInfo info;
    private SecurityFailure failure;

    /** The first fatal alert seen in either direction; it names the failure. */
    private short fatalAlert = -1;
    private boolean fatalAlertSentByUs;
    private String fatalAlertMessage;

    TlsSecuritySession(TlsSecurityProtocol.TlsConfig config, SecurityContext context) {
        this.config = config;
        this.context = context;
    }

    @Override
    public void start() throws SecurityFailure {
        if (engine != null || abandoned) {
            throw new IllegalStateException("already started");
        }
        try {
            if (context.role() == SecurityContext.Role.CLIENT) {
                Engines.Client client = new Engines.Client();
                engine = client;
                protocol = client;
                client.connect(new OpsecTlsClient(config, this)); // queues the ClientHello
            } else {
                Engines.Server server = new Engines.Server();
                engine = server;
                protocol = server;
                server.accept(new OpsecTlsServer(config, this));
            }
        } catch (IOException | RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public void receiveFromNetwork(ByteBuf ciphertext) throws SecurityFailure {
        requireStarted();
        throwIfFailed();
        if (abandoned) {
            ciphertext.skipBytes(ciphertext.readableBytes());
            return;
        }
        while (ciphertext.isReadable()) {
            int n = Math.min(ciphertext.readableBytes(), scratch.length);
            ciphertext.readBytes(scratch, 0, n);
            try {
                protocol.offerInput(scratch, 0, n);
            } catch (IOException | RuntimeException e) {
                throw fail(e);
            }
        }
    }

    @Override
    public void sendFromApplication(ByteBuf plaintext) throws SecurityFailure {
        requireStarted();
        throwIfFailed();
        if (!established) {
            // draft §3.4: no application data before the association is established.
            throw new IllegalStateException("TLS handshake not complete");
        }
        if (outboundClosed) {
            throw new IllegalStateException("outbound already closed");
        }
        while (plaintext.isReadable()) {
            int n = Math.min(plaintext.readableBytes(), scratch.length);
            plaintext.readBytes(scratch, 0, n);
            try {
                protocol.writeApplicationData(scratch, 0, n);
            } catch (IOException | RuntimeException e) {
                throw fail(e);
            }
        }
    }

    @Override
    public ByteBuf pollNetworkOutput(ByteBufAllocator alloc) {
        int n = pendingNetworkOutput();
        if (n == 0) {
            return null;
        }
        ByteBuf out = alloc.buffer(n);
        int got = protocol.readOutput(out.nioBuffer(out.writerIndex(), n), n);
        out.writerIndex(out.writerIndex() + got);
        return out;
    }

    @Override
    public ByteBuf pollApplicationInput(ByteBufAllocator alloc) {
        int n = pendingApplicationInput();
        if (n == 0) {
            return null;
        }
        ByteBuf out = alloc.buffer(n);
        int got = protocol.readInput(out.nioBuffer(out.writerIndex(), n), n);
        out.writerIndex(out.writerIndex() + got);
        return out;
    }

    @Override
    public int pendingNetworkOutput() {
        return protocol == null ? 0 : protocol.getAvailableOutputBytes();
    }

    @Override
    public int pendingApplicationInput() {
        return protocol == null ? 0 : protocol.getAvailableInputBytes();
    }

    @Override
    public boolean isEstablished() {
        return established && failure == null;
    }

    @Override
    public void closeOutbound() throws SecurityFailure {
        throwIfFailed();
        if (outboundClosed) {
            return;
        }
        outboundClosed = true;
        if (engine == null) {
            abandoned = true; // never started: nothing to tell the peer
            return;
        }
        try {
            if (established) {
                engine.writeCloseNotify(); // RFC 5246 §7.2.1; keep reading (see Engines)
            } else {
                abandoned = true;
                protocol.close(); // RFC 5246 §7.2.1-2: user_canceled, then close_notify
            }
        } catch (IOException | RuntimeException e) {
            throw fail(e);
        }
    }

    @Override
    public boolean isOutboundClosed() {
        return outboundClosed;
    }

    @Override
    public boolean isInboundClosed() {
        return engine != null && engine.peerClosed();
    }

    @Override
    public void networkEnded(boolean reset) throws SecurityFailure {
        throwIfFailed();
        if (engine == null || abandoned || engine.peerClosed()) {
            return; // nothing expected, or the stream ended cleanly (close_notify seen)
        }
        // READING-NOTES decision 6: FIN or RST before close_notify is truncation, an error to
        // the reader (RFC 5246 §7.2.1 makes close_notify what tells a clean end from a cut).
        failure = SecurityFailure.truncated(reset, established
                ? "the peer's data may have been cut short"
                : "during the handshake");
        try {
            protocol.closeInput(); // lets the engine drop its state; it sends nothing
        } catch (IOException | RuntimeException expected) {
            // TlsNoCloseNotifyException or handshake_failure: the engine agrees.
        }
        throw failure;
    }

    @Override
    public boolean isFailed() {
        return failure != null;
    }

    @Override
    public SecurityFailure failure() {
        return failure;
    }

    @Override
    public SessionInfo info() {
        if (!established) {
            throw new IllegalStateException("TLS handshake not complete");
        }
        return info;
    }

    // ---- PeerEvents, called by the BouncyCastle peer inside engine calls ----

    @Override
    public void alertRaised(short level, short description, String message, Throwable cause) {
        if (level == AlertLevel.fatal && fatalAlert < 0) {
            fatalAlert = description;
            fatalAlertSentByUs = true;
            fatalAlertMessage = message != null ? message : cause != null ? cause.getMessage() : null;
        }
        log.debug("{} {}: raised {} alert {}: {}", context.role(), context.remote(),
                AlertLevel.getText(level), AlertDescription.getText(description), message, cause);
    }

    @Override
    public void alertReceived(short level, short description) {
        if (level == AlertLevel.fatal && fatalAlert < 0) {
            fatalAlert = description;
            fatalAlertSentByUs = false;
            fatalAlertMessage = null;
        }
        log.debug("{} {}: received {} alert {}", context.role(), context.remote(),
                AlertLevel.getText(level), AlertDescription.getText(description));
    }

    @Override
    public void handshakeComplete(TlsContext tls, PeerAuthentication authentication, String group)
            throws IOException {
        SecurityParameters sp = tls.getSecurityParametersConnection();
        int suite = sp.getCipherSuite();
        // Belt and braces: the peers' settings enforce these; a bug there must not pass silently.
        if (!sp.isExtendedMasterSecret()) {
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "no extended master secret (RFC 7627)");
        }
        if (CipherSuites.isCbc(suite) && !sp.isEncryptThenMAC()) {
            throw new TlsFatalAlert(AlertDescription.handshake_failure, "CBC without encrypt-then-MAC (RFC 7366)");
        }
        // RFC 5705 §4: label, no context, 32 bytes; equal at both ends, unique per connection.
        byte[] sessionId = tls.exportKeyingMaterial(TlsSecurityProtocol.SESSION_ID_EXPORTER_LABEL, null,
                TlsSecurityProtocol.SESSION_ID_LENGTH);
        Certificate peer = sp.getPeerCertificate();
        byte[] fingerprint = peer == null || peer.isEmpty() ? null : fingerprint(peer.getCertificateAt(0));
        info = new SessionInfo("TLS", "TLSv1.2", CipherSuites.name(suite), suite, sessionId,
                fingerprint == null ? PeerAuthentication.ANONYMOUS : authentication, fingerprint, group);
        established = true;
        writeKeyLog(sp);
        log.debug("{} {}: established {}", context.role(), context.remote(), info);
    }

    private void writeKeyLog(SecurityParameters sp) {
        if (config.keyLog == null) {
            return;
        }
        byte[] master = MasterSecrets.copyOf(sp.getMasterSecret());
        if (master == null) {
            log.warn("key log: the master secret of this connection cannot be read; not logged");
            return;
        }
        try {
            config.keyLog.write(KeyLog.clientRandomLine(sp.getClientRandom(), master));
        } catch (RuntimeException e) {
            log.warn("key log failed; the connection goes on", e);
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /** SHA-256 of the DER SubjectPublicKeyInfo in a certificate. */
    static byte[] fingerprint(TlsCertificate certificate) throws IOException {
        byte[] spki = org.bouncycastle.asn1.x509.Certificate.getInstance(certificate.getEncoded())
                .getSubjectPublicKeyInfo().getEncoded(ASN1Encoding.DER);
        return TlsSecurityProtocol.sha256(spki);
    }

    // ---- failure ----

    private void requireStarted() {
        if (engine == null && !abandoned) {
            throw new IllegalStateException("session not started");
        }
    }

    private void throwIfFailed() throws SecurityFailure {
        if (failure != null) {
            throw failure;
        }
    }

    /** Records the session's failure, named by the first fatal alert, and returns it. */
    private SecurityFailure fail(Throwable e) {
        if (failure != null) {
            return failure;
        }
        short description;
        boolean sentByUs;
        String detail;
        if (fatalAlert >= 0) {
            description = fatalAlert;
            sentByUs = fatalAlertSentByUs;
            detail = fatalAlertMessage;
        } else if (e instanceof TlsFatalAlertReceived r) {
            description = r.getAlertDescription();
            sentByUs = false;
            detail = null;
        } else if (e instanceof TlsFatalAlert a) {
            description = a.getAlertDescription();
            sentByUs = true;
            detail = a.getMessage();
        } else {
            description = AlertDescription.internal_error;
            sentByUs = true;
            detail = String.valueOf(e);
        }
        String name = AlertDescription.getName(description);
        failure = sentByUs
                ? SecurityFailure.alertSent(description, name, SecurityFailure.AlertLevel.FATAL, detail, e)
                : SecurityFailure.alertReceived(description, name, SecurityFailure.AlertLevel.FATAL, detail, e);
        log.debug("{} {}: failed: {}", context.role(), context.remote(), failure.getMessage());
        return failure;
    }
}
