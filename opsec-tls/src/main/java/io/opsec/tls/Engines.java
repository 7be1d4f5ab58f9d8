package io.opsec.tls;

import java.io.IOException;

import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.AlertLevel;
import org.bouncycastle.tls.ContentType;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsProtocol;
import org.bouncycastle.tls.TlsServerProtocol;

/**
 * BouncyCastle's non-blocking protocol engines (constructed without streams, so
 * {@code offerInput}/{@code readOutput} drive them), adjusted for TCP half-close.
 *
 * <p>DEVIATION from RFC 5246 §7.2.1, which says the receiver of a close_notify "MUST respond with
 * a close_notify alert of its own and close down the connection immediately, discarding any
 * pending writes": OPSEC sits under applications that never asked for TLS and that rely on TCP
 * half-close (send a request, shut down output, read the reply). So a received close_notify only
 * ends the inbound direction; this end sends its own close_notify when the application closes
 * its output. TLS 1.3 made the same change for the same reason (RFC 8446 §6.1). In the other
 * direction the RFC already allows it: the closer need not wait for the reply before reading
 * further (§7.2.1), and here it keeps reading until the peer's close_notify.
 *
 * <p>Records after the peer's close_notify are a protocol violation: unexpected_message.
 */
final class Engines {

    private Engines() {
    }

    /** What the session needs beyond {@link TlsProtocol}'s public API. */
    interface HalfClose {
        /** The engine itself. */
        TlsProtocol protocol();

        /** True once the peer's close_notify has been processed. */
        boolean peerClosed();

        /** Queues an encrypted close_notify without closing the inbound direction. */
        void writeCloseNotify() throws IOException;
    }

    static final class Client extends TlsClientProtocol implements HalfClose {
        private boolean peerClosed;

        @Override
        public TlsProtocol protocol() {
            return this;
        }

        @Override
        public boolean peerClosed() {
            return peerClosed;
        }

        @Override
        public void writeCloseNotify() throws IOException {
            safeWriteRecord(ContentType.alert, CLOSE_NOTIFY.clone(), 0, CLOSE_NOTIFY.length);
        }

        @Override
        protected void handleAlertWarningMessage(short description) throws IOException {
            if (description == AlertDescription.close_notify && connection_state == CS_END) {
                peerClosed = true;
                return;
            }
            super.handleAlertWarningMessage(description);
        }

        @Override
        protected void processRecord(short protocol, byte[] buf, int off, int len) throws IOException {
            if (peerClosed) {
                throw new TlsFatalAlert(AlertDescription.unexpected_message, "record after close_notify");
            }
            super.processRecord(protocol, buf, off, len);
        }
    }

    static final class Server extends TlsServerProtocol implements HalfClose {
        private boolean peerClosed;

        @Override
        public TlsProtocol protocol() {
            return this;
        }

        @Override
        public boolean peerClosed() {
            return peerClosed;
        }

        @Override
        public void writeCloseNotify() throws IOException {
            safeWriteRecord(ContentType.alert, CLOSE_NOTIFY.clone(), 0, CLOSE_NOTIFY.length);
        }

        @Override
        protected void handleAlertWarningMessage(short description) throws IOException {
            if (description == AlertDescription.close_notify && connection_state == CS_END) {
                peerClosed = true;
                return;
            }
            super.handleAlertWarningMessage(description);
        }

        @Override
        protected void processRecord(short protocol, byte[] buf, int off, int len) throws IOException {
            if (peerClosed) {
                throw new TlsFatalAlert(AlertDescription.unexpected_message, "record after close_notify");
            }
            super.processRecord(protocol, buf, off, len);
        }
    }

    /** RFC 5246 §7.2: Alert { level warning(1), description close_notify(0) }. */
    private static final byte[] CLOSE_NOTIFY = {AlertLevel.warning, AlertDescription.close_notify};
}
