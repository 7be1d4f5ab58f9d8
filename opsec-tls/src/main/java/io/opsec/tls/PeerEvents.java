package io.opsec.tls;

import org.bouncycastle.tls.TlsContext;

import io.opsec.stack.opsec.SessionInfo.PeerAuthentication;

/** What the BouncyCastle peer objects report back to their {@link TlsSecuritySession}. */
interface PeerEvents {

    /** This end raised an alert (it is in the engine's output). */
    void alertRaised(short level, short description, String message, Throwable cause);

    /** The peer sent an alert. */
    void alertReceived(short level, short description);

    /**
     * The handshake finished; {@code context} holds the connection's security parameters.
     *
     * @param group the standard name of the key exchange's (EC)DH group, or null if unknown
     */
    void handshakeComplete(TlsContext context, PeerAuthentication authentication, String group)
            throws java.io.IOException;
}
