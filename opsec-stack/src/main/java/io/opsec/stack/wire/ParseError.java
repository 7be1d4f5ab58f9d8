package io.opsec.stack.wire;

/**
 * Why a packet could not be parsed. Every parse failure names one of these; the stack counts
 * them per reason and drops the packet (or answers as RFC 9293 says).
 */
public enum ParseError {
    // IPv4 (RFC 791)
    IP_TRUNCATED("shorter than an IPv4 header"),
    IP_BAD_VERSION("IP version is not 4"),
    IP_BAD_IHL("IHL below 5 or past the buffer"),
    IP_BAD_TOTAL_LENGTH("total length below the header length or past the buffer"),
    IP_BAD_CHECKSUM("IPv4 header checksum does not verify"),
    IP_FRAGMENT("fragment (reassembly is not supported)"),
    IP_NOT_TCP("protocol is not TCP"),
    // TCP (RFC 9293 §3.1)
    TCP_TRUNCATED("shorter than a TCP header"),
    TCP_BAD_DATA_OFFSET("data offset below 5 or past the segment"),
    TCP_BAD_CHECKSUM("TCP checksum does not verify"),
    // TCP options
    OPTION_BAD_LENGTH("option length below 2"),
    OPTION_OVERRUN("option runs past the end of the header"),
    OPTION_MSS_LENGTH("MSS option length is not 4"),
    OPTION_WSCALE_LENGTH("window scale option length is not 3"),
    OPTION_SACK_PERMITTED_LENGTH("SACK-permitted option length is not 2"),
    OPTION_TIMESTAMPS_LENGTH("timestamps option length is not 10"),
    OPTION_SACK_LENGTH("SACK option length is not 2 + 8n with n from 1 to 4");

    private final String description;

    ParseError(String description) {
        this.description = description;
    }

    /** A short human description, for logs and error messages. */
    public String description() {
        return description;
    }
}
