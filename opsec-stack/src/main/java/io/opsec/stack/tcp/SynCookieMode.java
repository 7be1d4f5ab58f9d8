package io.opsec.stack.tcp;

/**
 * When a listener answers a SYN with a SYN cookie (RFC 4987 §3.6) instead of a half-open
 * connection. See {@code docs/tcp.md}, "SYN cookies".
 */
public enum SynCookieMode {
    /** Never: SYNs beyond the backlog are dropped (the peer retransmits). */
    OFF,
    /** Once the listener's backlog is full (the default, as Linux's tcp_syncookies=1). */
    WHEN_FULL,
    /** For every SYN: listeners keep no half-open state at all (as Linux's tcp_syncookies=2). */
    ALWAYS
}
