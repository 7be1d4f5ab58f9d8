#!/usr/bin/env python3
"""Generates the opsec-stack wire test vectors (see README.md in this folder).

The JSON files beside this script are the source of truth and are committed. This script is how
they were made: it builds every packet byte by byte with its own encoder and checksum, written
independently of the Java code under test, and states the expected decoding from the same inputs.
Output is deterministic (no randomness, sorted keys, fixed layout).

    python3 generate.py           # rewrite the JSON files
    python3 generate.py --check   # exit 1 if the committed files differ from what would be written
"""

import json
import os
import struct
import sys

FORMAT = "opsec-wire-vectors/1"
HERE = os.path.dirname(os.path.abspath(__file__))

A = "198.18.0.1"
B = "198.18.0.2"
OPSEC_EXID = 0x05EC
LITERAL_KIND = 200  # the literal-framing kind the vectors configure when they use one


# ---------------------------------------------------------------------------------------------
# Encoding, independent of the implementation under test.

def addr(dotted):
    return bytes(int(x) for x in dotted.split("."))


def ones_sum(data):
    if len(data) % 2:
        data = data + b"\x00"
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) | data[i + 1]
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def checksum(data):
    return ~ones_sum(data) & 0xFFFF


FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = (1 << i for i in range(8))


def opt_bytes(o):
    t = o["type"]
    if t == "eol":
        return b"\x00"
    if t == "nop":
        return b"\x01"
    if t == "mss":
        return struct.pack("!BBH", 2, 4, o["mss"])
    if t == "window_scale":
        return struct.pack("!BBB", 3, 3, o["shift"])
    if t == "sack_permitted":
        return b"\x04\x02"
    if t == "sack":
        body = b"".join(struct.pack("!II", b["left"], b["right"]) for b in o["blocks"])
        return struct.pack("!BB", 5, 2 + len(body)) + body
    if t == "timestamps":
        return struct.pack("!BBII", 8, 10, o["tsval"], o["tsecr"])
    if t == "opsec":
        ids = bytes(o["protocols"])
        if o["framing"] == "experimental":
            return struct.pack("!BBH", o["kind"], 4 + len(ids), o["exid"]) + ids
        return struct.pack("!BB", o["kind"], 2 + len(ids)) + ids
    if t == "unknown":
        data = bytes.fromhex(o["data"])
        return struct.pack("!BB", o["kind"], 2 + len(data)) + data
    raise ValueError(t)


# Option models, as they appear in the expected decoding.
def EOL(): return {"type": "eol", "kind": 0}
def NOP(): return {"type": "nop", "kind": 1}
def MSS(v): return {"type": "mss", "kind": 2, "mss": v}
def WS(s): return {"type": "window_scale", "kind": 3, "shift": s}
def SACKP(): return {"type": "sack_permitted", "kind": 4}
def SACK(*blocks): return {"type": "sack", "kind": 5, "blocks": [{"left": l, "right": r} for l, r in blocks]}
def TS(v, e): return {"type": "timestamps", "kind": 8, "tsval": v, "tsecr": e}
def UNKNOWN(kind, data_hex): return {"type": "unknown", "kind": kind, "data": data_hex}


def OPSEC_EXP(*ids, kind=253):
    return {"type": "opsec", "kind": kind, "framing": "experimental", "exid": OPSEC_EXID,
            "protocols": list(ids), "valid": len(ids) > 0}


def OPSEC_LIT(*ids, kind=LITERAL_KIND):
    return {"type": "opsec", "kind": kind, "framing": "literal", "protocols": list(ids), "valid": len(ids) > 0}


def options_area(opts):
    """Encodes options and pads with zero bytes to 32 bits, as a canonical emitter does."""
    raw = b"".join(opt_bytes(o) for o in opts)
    return raw + b"\x00" * (-len(raw) % 4)


def canonical_options(opts):
    """The decoding of options_area(opts): through the first EOL; an EOL when padding was added."""
    out = []
    for o in opts:
        out.append(o)
        if o["type"] == "eol":
            return out
    if len(b"".join(opt_bytes(o) for o in opts)) % 4:
        out.append(EOL())
    return out


def tcp_segment(src, dst, sport, dport, seq, ack, flags, window, options=b"", payload=b"", urgent=0,
                reserved=0, data_offset=None, bad_checksum=False, checksum_value=None, pseudo_dst=None):
    if data_offset is None:
        data_offset = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (data_offset << 4) | reserved, flags, window, 0,
                      urgent) + options
    seg = bytearray(hdr + payload)
    pseudo = addr(src) + addr(pseudo_dst or dst) + struct.pack("!BBH", 0, 6, len(seg))
    c = checksum(pseudo + bytes(seg))
    if bad_checksum:
        c ^= 0x0101
    if checksum_value is not None:
        c = checksum_value
    struct.pack_into("!H", seg, 16, c)
    return bytes(seg)


def ipv4_packet(src, dst, payload, proto=6, ttl=64, ident=0, flags_frag=0x4000, tos=0, ip_options=b"",
                version=4, ihl=None, total_length=None, bad_checksum=False, trailer=b""):
    if ihl is None:
        ihl = (20 + len(ip_options)) // 4
    if total_length is None:
        total_length = 20 + len(ip_options) + len(payload)
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, tos, total_length, ident, flags_frag, ttl,
                                proto, 0, addr(src), addr(dst)) + ip_options)
    c = checksum(bytes(hdr))
    if bad_checksum:
        c ^= 0x0101
    struct.pack_into("!H", hdr, 10, c)
    return bytes(hdr) + payload + trailer


def ip_fields(pkt):
    ver_ihl, tos, total, ident, ff, ttl, proto, c = struct.unpack("!BBHHHBBH", pkt[:12])
    return {"version": ver_ihl >> 4, "header_length": (ver_ihl & 15) * 4, "tos": tos, "total_length": total,
            "identification": ident, "flags_and_fragment": ff, "dont_fragment": bool(ff & 0x4000),
            "more_fragments": bool(ff & 0x2000), "fragment_offset": (ff & 0x1FFF) * 8, "ttl": ttl,
            "protocol": proto, "checksum": c, "src": ".".join(str(b) for b in pkt[12:16]),
            "dst": ".".join(str(b) for b in pkt[16:20])}


def tcp_fields(seg, options_model):
    sport, dport, seq, ack, off, flags, win, c, urg = struct.unpack("!HHIIBBHHH", seg[:20])
    return {"src_port": sport, "dst_port": dport, "seq": seq, "ack": ack, "header_length": (off >> 4) * 4,
            "reserved": off & 15, "flags": flags,
            "flag_names": [n for i, n in enumerate(FLAG_NAMES) if flags & (1 << i)],
            "window": win, "checksum": c, "urgent_pointer": urg, "options": options_model}


# ---------------------------------------------------------------------------------------------
# Vector construction.

class Vectors:
    def __init__(self, file, description):
        self.file = file
        self.description = description
        self.items = []

    def add(self, name, description, packet, *, error=None, ip=None, tcp=None, payload=None, canonical=None,
            literal_kind=None):
        if canonical is None:
            canonical = error is None
        assert not (canonical and error), name
        self.items.append({
            "name": name, "description": description, "packet": packet.hex(),
            "opsec_literal_kind": literal_kind, "canonical": canonical,
            "expect": {"error": error, "ip": ip, "tcp": tcp,
                       "payload": None if payload is None else payload.hex()}})

    def ok(self, name, description, *, opts=(), raw_options=None, decoded=None, payload=b"", src=A, dst=B,
           sport=49152, dport=7, seq=0x1000, ack=0, flags=SYN, window=65535, urgent=0, reserved=0,
           canonical=None, literal_kind=None, ip_kw=None, trailer=b""):
        """A packet that parses. Options are given as models (encoded and padded canonically) or as
        raw bytes with their expected decoding."""
        if raw_options is None:
            raw_options = options_area(list(opts))
            decoded = canonical_options(list(opts))
            canonical = True if canonical is None else canonical
        elif canonical is None:
            canonical = raw_options == options_area(decoded)
        seg = tcp_segment(src, dst, sport, dport, seq, ack, flags, window, raw_options, payload, urgent, reserved)
        pkt = ipv4_packet(src, dst, seg, trailer=trailer, **(ip_kw or {}))
        ihl = (pkt[0] & 15) * 4
        self.add(name, description, pkt, ip=ip_fields(pkt), tcp=tcp_fields(pkt[ihl:], decoded),
                 payload=payload, canonical=canonical, literal_kind=literal_kind)

    def bad_options(self, name, description, raw_options, error, literal_kind=None):
        """A segment whose option area (raw bytes, padded here to 32 bits with zeros) is malformed."""
        assert len(raw_options) % 4 == 0, name
        seg = tcp_segment(A, B, 49152, 7, 0x1000, 0, SYN, 65535, raw_options)
        pkt = ipv4_packet(A, B, seg)
        self.add(name, description, pkt, error=error, ip=ip_fields(pkt), literal_kind=literal_kind)

    def dump(self):
        doc = {"format": FORMAT, "description": self.description, "vectors": self.items}
        return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def hello():
    return b"hello, opsec\n"


def build():
    files = []

    # -- options ----------------------------------------------------------------------------
    v = Vectors("options.json", "Every TCP option kind the stack knows, well formed, and unknown kinds kept.")
    files.append(v)
    v.ok("options-none", "SYN with no options: the minimum data offset (5).")
    v.ok("options-eol-only", "An option area of one EOL and three zero padding bytes.", opts=[EOL()])
    v.ok("options-nop-x4", "Four NOPs fill one 32-bit word; no EOL is needed.", opts=[NOP()] * 4)
    v.ok("options-mss-1460", "MSS 1460 alone: exactly four bytes.", opts=[MSS(1460)])
    v.ok("options-mss-0", "MSS 0 is representable (it is the TCP layer's business to refuse it).", opts=[MSS(0)])
    v.ok("options-mss-65535", "The largest MSS value.", opts=[MSS(65535)])
    v.ok("options-mss-536", "The RFC 9293 default MSS, stated explicitly.", opts=[MSS(536)])
    v.ok("options-wscale-0", "Window scale 0 (scaling on, factor 1), padded with EOL.", opts=[WS(0)])
    v.ok("options-wscale-7-nop", "NOP then window scale 7: Linux's layout, four bytes.", opts=[NOP(), WS(7)])
    v.ok("options-wscale-14", "Window scale 14, the largest RFC 7323 allows.", opts=[NOP(), WS(14)])
    v.ok("options-wscale-15", "Window scale 15 is kept as sent; RFC 7323 §2.3 clamping is the TCP layer's job.",
         opts=[NOP(), WS(15)])
    v.ok("options-wscale-255", "Window scale 255 is still well formed at the wire layer.", opts=[NOP(), WS(255)])
    v.ok("options-sack-permitted", "SACK-permitted with two NOPs.", opts=[NOP(), NOP(), SACKP()])
    v.ok("options-sack-permitted-eol", "SACK-permitted, then EOL padding.", opts=[SACKP()])
    for n in range(1, 5):
        blocks = [(0x1000 + 0x1000 * i, 0x1800 + 0x1000 * i) for i in range(n)]
        v.ok("options-sack-%d-block%s" % (n, "" if n == 1 else "s"),
             "SACK with %d block%s (length %d), on an ACK." % (n, "" if n == 1 else "s", 2 + 8 * n),
             opts=[NOP(), NOP(), SACK(*blocks)], flags=ACK, ack=0x1000, seq=0x77)
    v.ok("options-sack-wrapping-block", "A SACK block that spans the 2^32 sequence wrap.",
         opts=[NOP(), NOP(), SACK((0xFFFFFF00, 0x00000100))], flags=ACK, ack=0xFFFFFE00, seq=1)
    v.ok("options-timestamps", "Timestamps with NOP NOP alignment, as on every Linux data segment.",
         opts=[NOP(), NOP(), TS(0x01020304, 0x0A0B0C0D)], flags=ACK | PSH, ack=1, payload=hello())
    v.ok("options-timestamps-max", "Timestamps with both clocks at 2^32 - 1.",
         opts=[NOP(), NOP(), TS(0xFFFFFFFF, 0xFFFFFFFF)], flags=ACK, ack=1)
    v.ok("options-timestamps-syn", "A SYN's timestamps: TSecr zero.", opts=[TS(1, 0)])
    v.ok("options-linux-syn", "A Linux SYN: MSS, SACK-permitted, timestamps, NOP, window scale (20 bytes).",
         opts=[MSS(1460), SACKP(), TS(2882400001, 0), NOP(), WS(7)], seq=0xDEADBEEF, window=64240)
    v.ok("options-linux-synack", "A Linux SYN-ACK answering the SYN above.",
         opts=[MSS(1460), SACKP(), TS(3000000000, 2882400001), NOP(), WS(7)], seq=0x01234567,
         ack=0xDEADBEF0, flags=SYN | ACK, window=65160, src=B, dst=A, sport=7, dport=49152)
    v.ok("options-unknown-mptcp", "MPTCP (kind 30) MP_CAPABLE: kept as unknown bytes, re-emitted unchanged.",
         opts=[UNKNOWN(30, "0081" + "0102030405060708")])
    v.ok("options-unknown-tfo-cookie", "TCP Fast Open cookie (kind 34) with an 8-byte cookie.",
         opts=[UNKNOWN(34, "a1a2a3a4a5a6a7a8"), NOP(), NOP()])
    v.ok("options-unknown-md5", "TCP MD5 signature (kind 19, 18 bytes), as BGP speakers send it.",
         opts=[UNKNOWN(19, "00112233445566778899aabbccddeeff"), NOP(), NOP()], flags=ACK, ack=1)
    v.ok("options-unknown-uto", "User timeout (kind 28, RFC 5482).", opts=[UNKNOWN(28, "8258")])
    v.ok("options-unknown-empty", "An unknown kind with length 2 and no data.", opts=[UNKNOWN(99, ""), NOP(), NOP()])
    v.ok("options-unknown-obsolete-echo", "Obsolete echo (kind 6, RFC 1072) is just an unknown kind now.",
         opts=[UNKNOWN(6, "01020304")])
    v.ok("options-unknown-kind-255", "Kind 255 with one data byte.", opts=[UNKNOWN(255, "ff"), NOP()])
    v.ok("options-exactly-40-bytes", "An option area of exactly 40 bytes: SACK with 3 blocks, NOP, NOP, timestamps, NOP, NOP; data offset 15.",
         opts=[SACK((1, 2), (3, 4), (5, 6)), NOP(), NOP(), TS(7, 8), NOP(), NOP()], flags=ACK, ack=1)
    v.ok("options-40-bytes-handshake-and-opsec", "A 40-byte SYN: the Linux options and OPSEC with 16 protocol ids.",
         opts=[MSS(1460), SACKP(), TS(1, 0), NOP(), WS(7), OPSEC_EXP(*range(16))])
    v.ok("options-40-nops", "The maximum data offset filled with 40 NOPs.", opts=[NOP()] * 40)
    v.ok("options-max-offset-eol", "Data offset 15 with an MSS, an EOL and 35 zero bytes.",
         raw_options=bytes.fromhex("020405b4") + b"\x00" * 36, decoded=[MSS(1460), EOL()])
    v.ok("options-eol-then-garbage", "Bytes after EOL are padding and ignored even when not zero; re-emission writes zeros, so not canonical.",
         raw_options=bytes.fromhex("020405b400ffeedd"), decoded=[MSS(1460), EOL()], canonical=False)
    v.ok("options-eol-mid-word", "EOL right after MSS then zero padding to the next word.",
         opts=[MSS(1400), EOL()])

    # -- OPSEC ------------------------------------------------------------------------------
    v = Vectors("opsec.json", "The OPSEC option in both framings (RFC 6994 kind 253/ExID 0x05EC, and the draft's literal framing on a configured kind).")
    files.append(v)
    for ids, label in (([0], "1-id"), ([0, 1], "2-ids"), (list(range(8)), "8-ids")):
        v.ok("opsec-experimental-" + label, "Experimental framing (kind 253, ExID 0x05EC) proposing %s." % ids,
             opts=[OPSEC_EXP(*ids)])
        v.ok("opsec-literal-" + label, "Literal framing on kind %d (configured) proposing %s." % (LITERAL_KIND, ids),
             opts=[OPSEC_LIT(*ids)], literal_kind=LITERAL_KIND)
    v.ok("opsec-experimental-empty", "Experimental framing with no ids: parses, but is not valid (draft §3.1).",
         opts=[OPSEC_EXP()])
    v.ok("opsec-literal-empty", "Literal framing with no ids: parses, but is not valid.",
         opts=[OPSEC_LIT(), NOP(), NOP()], literal_kind=LITERAL_KIND)
    v.ok("opsec-experimental-kind-254", "The experimental framing on the other RFC 4727 kind, 254.",
         opts=[OPSEC_EXP(0, kind=254)])
    v.ok("opsec-experimental-36-ids", "The most ids the experimental framing can carry in 40 bytes (36).",
         opts=[OPSEC_EXP(*range(36))])
    v.ok("opsec-literal-38-ids", "The most ids the literal framing can carry in 40 bytes (38).",
         opts=[OPSEC_LIT(*range(1, 39))], literal_kind=LITERAL_KIND)
    v.ok("opsec-experimental-high-ids", "Protocol ids are unsigned bytes: 255 and 128 survive.",
         opts=[OPSEC_EXP(255, 128, 0)])
    v.ok("opsec-selection-synack", "A SYN-ACK selecting TLS (one id), with the handshake options.",
         opts=[MSS(1460), NOP(), WS(7), OPSEC_EXP(0)], flags=SYN | ACK, seq=0x5000, ack=0x1001, src=B, dst=A,
         sport=7, dport=49152)
    v.ok("opsec-echo-ack", "The ACK completing the handshake echoes the selection (reading notes, decision 2).",
         opts=[NOP(), NOP(), TS(5, 6), OPSEC_EXP(0)], flags=ACK, seq=0x1001, ack=0x5001)
    v.ok("opsec-both-framings", "Experimental and literal options in one header when the literal kind is configured.",
         opts=[OPSEC_EXP(0), OPSEC_LIT(1)], literal_kind=LITERAL_KIND)
    v.ok("opsec-experimental-with-literal-codec", "The experimental framing is recognised whatever literal kind is configured.",
         opts=[OPSEC_EXP(0, 1)], literal_kind=LITERAL_KIND)
    v.ok("opsec-literal-kind-not-configured", "Kind 200 carrying ids when no literal kind is configured: an unknown option.",
         opts=[UNKNOWN(LITERAL_KIND, "0001"), NOP(), NOP()])
    v.ok("opsec-literal-other-kind-configured", "Kind 200 when kind 201 is the configured literal kind: unknown.",
         opts=[UNKNOWN(LITERAL_KIND, "00"), NOP()], literal_kind=LITERAL_KIND + 1)
    v.ok("opsec-foreign-exid-tcp-eno", "Kind 253 with TCP-ENO's ExID 0x454E (RFC 8547) is not OPSEC: unknown.",
         opts=[UNKNOWN(253, "454e0001")])
    v.ok("opsec-foreign-exid-254", "Kind 254 with another ExID (0x05ED) is not OPSEC: unknown.",
         opts=[UNKNOWN(254, "05ed00"), NOP()])
    v.ok("opsec-kind-253-no-exid", "Kind 253 of length 2 cannot carry an ExID: unknown.",
         opts=[UNKNOWN(253, ""), NOP(), NOP()])
    v.ok("opsec-kind-253-short-exid", "Kind 253 of length 3 holds half an ExID: unknown.",
         opts=[UNKNOWN(253, "05"), NOP()])

    # -- TCP header ---------------------------------------------------------------------------
    v = Vectors("tcp.json", "TCP header fields, flags, data offsets, payloads and checksums (RFC 9293 §3.1).")
    files.append(v)
    for name, f in (("fin", FIN | ACK), ("syn", SYN), ("rst", RST), ("psh", PSH | ACK), ("ack", ACK),
                    ("urg", URG | ACK), ("ece", ECE | ACK), ("cwr", CWR | ACK)):
        v.ok("tcp-flag-" + name, "Flag %s%s." % (name.upper(), "" if f == (1 << FLAG_NAMES.index(name.upper())) else " (with ACK)"),
             flags=f, ack=0x2000 if f & ACK else 0, urgent=3 if f & URG else 0,
             payload=b"abc" if f & (URG | PSH) else b"")
    v.ok("tcp-flags-none", "No flags at all (a 'null' segment) still parses.", flags=0)
    v.ok("tcp-flags-all", "All eight flags set (a 'christmas tree' segment) and an urgent pointer.", flags=0xFF,
         ack=5, urgent=1, payload=b"x")
    v.ok("tcp-flags-syn-ece-cwr", "An ECN-setup SYN (RFC 3168 §6.1.1).", flags=SYN | ECE | CWR, opts=[MSS(1460)])
    v.ok("tcp-reserved-bits", "All four reserved bits set; they are kept and re-emitted.", flags=ACK, ack=1,
         reserved=0xF)
    v.ok("tcp-reserved-ae", "The lowest reserved bit (once NS, now AccECN's AE) set.", flags=ACK, ack=1, reserved=1)
    v.ok("tcp-seq-ack-max", "Sequence and acknowledgment numbers at 2^32 - 1.", flags=ACK, seq=0xFFFFFFFF,
         ack=0xFFFFFFFF)
    v.ok("tcp-seq-zero", "Sequence number zero.", seq=0)
    v.ok("tcp-ports-extremes", "Ports 0 and 65535 are representable.", sport=0, dport=65535)
    v.ok("tcp-window-zero", "A zero window probe answer.", flags=ACK, ack=1, window=0)
    v.ok("tcp-payload-hello", "A data segment with a 13-byte payload (odd length: the checksum pads a zero byte).",
         flags=ACK | PSH, ack=0x3000, payload=hello())
    v.ok("tcp-payload-one-byte", "A one-byte payload.", flags=ACK | PSH, ack=1, payload=b"\x7f")
    v.ok("tcp-payload-1460", "A full 1460-byte segment.", flags=ACK, ack=1,
         payload=bytes((i * 7 + 3) & 0xFF for i in range(1460)))
    v.ok("tcp-payload-with-options", "Timestamps and a payload together.", flags=ACK | PSH, ack=1,
         opts=[NOP(), NOP(), TS(100, 200)], payload=b"GET / HTTP/1.0\r\n\r\n")
    v.ok("tcp-payload-max-offset", "Data offset 15 with a payload after 40 option bytes.", flags=ACK | PSH, ack=1,
         opts=[NOP()] * 40, payload=b"data")
    v.ok("tcp-payload-zeros", "A payload of zero bytes (checksum must still verify).", flags=ACK, ack=1,
         payload=b"\x00" * 64)
    v.ok("tcp-fin-with-data", "FIN carrying the last bytes.", flags=FIN | ACK | PSH, ack=9, payload=b"bye")

    def tcp_err(name, description, seg, error, **ip_kw):
        pkt = ipv4_packet(A, B, seg, **ip_kw)
        v.add(name, description, pkt, error=error, ip=ip_fields(pkt))

    tcp_err("tcp-data-offset-4", "Data offset 4 (16 bytes) is below the minimum.",
            tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, data_offset=4), "TCP_BAD_DATA_OFFSET")
    tcp_err("tcp-data-offset-0", "Data offset 0.", tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, data_offset=0),
            "TCP_BAD_DATA_OFFSET")
    tcp_err("tcp-data-offset-past-segment", "Data offset 6 on a 20-byte segment.",
            tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, data_offset=6), "TCP_BAD_DATA_OFFSET")
    tcp_err("tcp-data-offset-15-short", "Data offset 15 (60 bytes) on a 40-byte segment.",
            tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, options=b"\x01" * 20, data_offset=15), "TCP_BAD_DATA_OFFSET")
    tcp_err("tcp-truncated-19", "Nineteen bytes of TCP.", tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1)[:19],
            "TCP_TRUNCATED")
    tcp_err("tcp-truncated-empty", "An IPv4 packet for TCP with no TCP bytes.", b"", "TCP_TRUNCATED")
    tcp_err("tcp-bad-checksum-field", "The checksum field is off by 0x0101.",
            tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, bad_checksum=True), "TCP_BAD_CHECKSUM")
    good = tcp_segment(A, B, 49152, 7, 1, 2, ACK | PSH, 1, payload=hello())
    flipped = good[:-1] + bytes([good[-1] ^ 0x10])
    tcp_err("tcp-bad-checksum-payload-bit", "One payload bit flipped after the checksum was computed.", flipped,
            "TCP_BAD_CHECKSUM")
    tcp_err("tcp-bad-checksum-pseudo-header", "Checksum computed for another destination address (pseudo-header).",
            tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, pseudo_dst="198.18.0.3"), "TCP_BAD_CHECKSUM")
    no_pseudo = bytearray(tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1, checksum_value=0))
    struct.pack_into("!H", no_pseudo, 16, checksum(bytes(no_pseudo)))
    tcp_err("tcp-bad-checksum-no-pseudo-header", "Checksum over the segment alone, without the pseudo-header.",
            bytes(no_pseudo), "TCP_BAD_CHECKSUM")
    tcp_err("tcp-bad-checksum-zero", "Checksum field zero (TCP has no 'no checksum' value, unlike UDP).",
            tcp_segment(A, B, 49152, 7, 1, 0, ACK, 1, checksum_value=0), "TCP_BAD_CHECKSUM")

    # -- IPv4 ---------------------------------------------------------------------------------
    v = Vectors("ipv4.json", "IPv4 header checks (RFC 791): version, IHL, total length, checksum, fragments, protocol.")
    files.append(v)
    v.ok("ipv4-ihl-6-zero-options", "IHL 6 with four zero option bytes (EOL): options skipped; canonical, since "
         "an emitter pads a longer header with zeros.", ip_kw={"ip_options": b"\x00" * 4})
    v.ok("ipv4-ihl-6-router-alert", "IHL 6 with a Router Alert option (RFC 2113): skipped, so not canonical.",
         ip_kw={"ip_options": bytes.fromhex("94040000")}, canonical=False)
    v.ok("ipv4-ihl-15", "IHL 15: 40 bytes of IP options (NOPs and EOL) skipped, then TCP.",
         ip_kw={"ip_options": b"\x01" * 39 + b"\x00"}, canonical=False, flags=ACK, ack=1, payload=b"ok")
    v.ok("ipv4-link-padding", "Six bytes of Ethernet padding past the total length are ignored (not canonical).",
         flags=ACK, ack=1, trailer=b"\x00" * 6, canonical=False)
    v.ok("ipv4-tos-ttl-id", "DSCP/ECN byte 0xB8, TTL 1, identification 0xBEEF, DF clear.",
         ip_kw={"tos": 0xB8, "ttl": 1, "ident": 0xBEEF, "flags_frag": 0}, flags=ACK, ack=1)
    v.ok("ipv4-ttl-255", "TTL 255, DF set.", ip_kw={"ttl": 255})
    v.ok("ipv4-evil-bit", "The reserved flag bit (RFC 3514) is kept in flags_and_fragment.",
         ip_kw={"flags_frag": 0x8000 | 0x4000}, flags=ACK, ack=1)
    v.ok("ipv4-other-addresses", "Other addresses, to exercise the pseudo-header.", src="10.1.2.3", dst="192.0.2.250",
         flags=ACK | PSH, ack=77, payload=b"\xff\xfe\xfd")
    v.ok("ipv4-max-addresses", "255.255.255.255 to 0.0.0.0 (the parser does not judge addresses).",
         src="255.255.255.255", dst="0.0.0.0", flags=RST, seq=0)

    seg = tcp_segment(A, B, 49152, 7, 1, 0, SYN, 1)

    def ip_err(name, description, pkt, error, with_ip=False):
        v.add(name, description, pkt, error=error, ip=ip_fields(pkt) if with_ip else None)

    ip_err("ipv4-empty", "No bytes at all.", b"", "IP_TRUNCATED")
    ip_err("ipv4-truncated-19", "Nineteen bytes: shorter than an IPv4 header.", ipv4_packet(A, B, seg)[:19],
           "IP_TRUNCATED")
    ip_err("ipv4-version-6", "Version 6 in the first nibble.", ipv4_packet(A, B, seg, version=6), "IP_BAD_VERSION")
    ip_err("ipv4-version-0", "Version 0.", ipv4_packet(A, B, seg, version=0), "IP_BAD_VERSION")
    ip_err("ipv4-ihl-4", "IHL 4 (16 bytes) is below the minimum.", ipv4_packet(A, B, seg, ihl=4), "IP_BAD_IHL")
    ip_err("ipv4-ihl-0", "IHL 0.", ipv4_packet(A, B, seg, ihl=0), "IP_BAD_IHL")
    ip_err("ipv4-ihl-past-buffer", "IHL 15 (60 bytes) in a 24-byte buffer.",
           ipv4_packet(A, B, b"", ihl=15, total_length=24, ip_options=b"\x00" * 4), "IP_BAD_IHL")
    ip_err("ipv4-total-length-below-header", "Total length 19.", ipv4_packet(A, B, seg, total_length=19),
           "IP_BAD_TOTAL_LENGTH")
    ip_err("ipv4-total-length-past-buffer", "Total length one byte more than the buffer holds.",
           ipv4_packet(A, B, seg, total_length=41), "IP_BAD_TOTAL_LENGTH")
    ip_err("ipv4-total-length-65535", "Total length 65535 on a 40-byte buffer.",
           ipv4_packet(A, B, seg, total_length=65535), "IP_BAD_TOTAL_LENGTH")
    ip_err("ipv4-bad-checksum", "Header checksum off by 0x0101.", ipv4_packet(A, B, seg, bad_checksum=True),
           "IP_BAD_CHECKSUM")
    ip_err("ipv4-bad-checksum-with-options", "IHL 6: the checksum covers the options too; one option bit flipped.",
           (lambda p: p[:20] + bytes([p[20] ^ 1]) + p[21:])(ipv4_packet(A, B, seg, ip_options=b"\x00" * 4)),
           "IP_BAD_CHECKSUM")
    zero = bytearray(ipv4_packet(A, B, seg))
    struct.pack_into("!H", zero, 10, 0)
    ip_err("ipv4-bad-checksum-zero", "Header checksum field zero.", bytes(zero), "IP_BAD_CHECKSUM")
    ip_err("ipv4-fragment-first", "First fragment (MF set, offset 0): recognised and reported, not reassembled.",
           ipv4_packet(A, B, seg, flags_frag=0x2000, ident=0x1234), "IP_FRAGMENT", with_ip=True)
    ip_err("ipv4-fragment-middle", "A middle fragment (MF set, offset 1480 bytes).",
           ipv4_packet(A, B, b"\x00" * 24, flags_frag=0x2000 | 185, ident=0x1234), "IP_FRAGMENT", with_ip=True)
    ip_err("ipv4-fragment-last", "The last fragment (MF clear, offset 2960 bytes).",
           ipv4_packet(A, B, b"\x00" * 16, flags_frag=370, ident=0x1234), "IP_FRAGMENT", with_ip=True)
    ip_err("ipv4-fragment-udp", "A fragment of a UDP datagram is reported as a fragment.",
           ipv4_packet(A, B, b"\x00" * 8, proto=17, flags_frag=0x2000), "IP_FRAGMENT", with_ip=True)
    ip_err("ipv4-not-tcp-udp", "A UDP datagram (protocol 17).",
           ipv4_packet(A, B, bytes.fromhex("c00000350008" + "0000"), proto=17), "IP_NOT_TCP", with_ip=True)
    ip_err("ipv4-not-tcp-icmp", "An ICMP echo request (protocol 1).",
           ipv4_packet(A, B, bytes.fromhex("0800f7ff00000000"), proto=1), "IP_NOT_TCP", with_ip=True)

    # -- malformed options --------------------------------------------------------------------
    v = Vectors("malformed-options.json", "TCP option areas the parser must refuse, one per malformed class.")
    files.append(v)
    h = bytes.fromhex
    v.bad_options("malformed-length-0", "Unknown kind 99 with length 0.", h("63000000"), "OPTION_BAD_LENGTH")
    v.bad_options("malformed-length-1", "Unknown kind 99 with length 1.", h("63010000"), "OPTION_BAD_LENGTH")
    v.bad_options("malformed-mss-length-1", "MSS with length 1: below 2, so a bad length before a bad MSS.",
                  h("02010000"), "OPTION_BAD_LENGTH")
    v.bad_options("malformed-opsec-length-0", "Kind 253 with length 0.", h("fd0005ec"), "OPTION_BAD_LENGTH")
    v.bad_options("malformed-length-1-after-nops", "Length 1 after three NOPs.", h("01010163" + "01000000"),
                  "OPTION_BAD_LENGTH")
    v.bad_options("malformed-no-length-byte", "Three NOPs, then a kind with no room for its length byte.",
                  h("01010102"), "OPTION_OVERRUN")
    v.bad_options("malformed-overrun-mss", "MSS whose 4 bytes run past a 4-byte area (starts at offset 2).",
                  h("0101" + "0204"), "OPTION_OVERRUN")
    v.bad_options("malformed-overrun-unknown", "Unknown kind claiming 40 bytes in a 4-byte area.", h("63280000"),
                  "OPTION_OVERRUN")
    v.bad_options("malformed-overrun-timestamps", "Timestamps starting at offset 36 of 40.",
                  b"\x01" * 36 + h("080a0000"), "OPTION_OVERRUN")
    v.bad_options("malformed-overrun-opsec", "OPSEC claiming 12 bytes in an 8-byte area.", h("fd0c05ec00010203"),
                  "OPTION_OVERRUN")
    v.bad_options("malformed-overrun-sack", "SACK of one block (10 bytes) in an 8-byte area.",
                  h("050a000000010000"), "OPTION_OVERRUN")
    v.bad_options("malformed-mss-length-2", "MSS with length 2.", h("02020101"), "OPTION_MSS_LENGTH")
    v.bad_options("malformed-mss-length-3", "MSS with length 3.", h("02030501"), "OPTION_MSS_LENGTH")
    v.bad_options("malformed-mss-length-5", "MSS with length 5 (one byte too many).", h("020505b400" + "010101"),
                  "OPTION_MSS_LENGTH")
    v.bad_options("malformed-mss-length-6", "MSS with length 6.", h("020605b40000" + "0101"), "OPTION_MSS_LENGTH")
    v.bad_options("malformed-wscale-length-2", "Window scale with length 2.", h("03020101"), "OPTION_WSCALE_LENGTH")
    v.bad_options("malformed-wscale-length-4", "Window scale with length 4.", h("03040700"), "OPTION_WSCALE_LENGTH")
    v.bad_options("malformed-sack-permitted-length-3", "SACK-permitted with length 3.", h("04030001"),
                  "OPTION_SACK_PERMITTED_LENGTH")
    v.bad_options("malformed-sack-permitted-length-4", "SACK-permitted with length 4.", h("04040000"),
                  "OPTION_SACK_PERMITTED_LENGTH")
    v.bad_options("malformed-timestamps-length-8", "Timestamps with length 8.", h("0808000000010000"),
                  "OPTION_TIMESTAMPS_LENGTH")
    v.bad_options("malformed-timestamps-length-9", "Timestamps with length 9 (one byte short).",
                  h("0809" + "00" * 7 + "010101"), "OPTION_TIMESTAMPS_LENGTH")
    v.bad_options("malformed-timestamps-length-11", "Timestamps with length 11 (one byte too many).",
                  h("080b" + "00" * 9 + "01"), "OPTION_TIMESTAMPS_LENGTH")
    v.bad_options("malformed-timestamps-length-12", "Timestamps with length 12.", h("080c" + "00" * 10),
                  "OPTION_TIMESTAMPS_LENGTH")
    v.bad_options("malformed-timestamps-length-2", "Timestamps with length 2.", h("08020101"),
                  "OPTION_TIMESTAMPS_LENGTH")
    v.bad_options("malformed-sack-length-2", "SACK with no blocks (length 2).", h("05020101"), "OPTION_SACK_LENGTH")
    v.bad_options("malformed-sack-length-6", "SACK of length 6: half a block.", h("0506000000010101"),
                  "OPTION_SACK_LENGTH")
    v.bad_options("malformed-sack-length-9", "SACK of length 9: seven bytes of block data.",
                  h("0509" + "0000000100000002" + "00" + "01"), "OPTION_SACK_LENGTH")
    v.bad_options("malformed-sack-length-11", "SACK of length 11.", h("050b" + "00" * 9 + "01"),
                  "OPTION_SACK_LENGTH")
    v.bad_options("malformed-sack-length-40", "SACK of length 40 (2 + 38): not 2 + 8n.", h("0528") + b"\x00" * 38,
                  "OPTION_SACK_LENGTH")
    v.bad_options("malformed-after-valid", "A valid MSS followed by a window scale of length 2.",
                  h("020405b4" + "03020000"), "OPTION_WSCALE_LENGTH")

    return files


SEED_DIR = os.path.join(HERE, "..", "opsec-stack", "src", "test", "resources", "io", "opsec", "stack", "wire",
                        "TcpSegmentFuzzTestInputs", "parseThenEmit")


def seeds(files):
    """The fuzz seed corpus: the short well-formed option and OPSEC vectors, and one vector per error."""
    out = {}
    errors = set()
    for f in files:
        for x in f.items:
            packet = bytes.fromhex(x["packet"])
            err = x["expect"]["error"]
            if err is None and f.file in ("options.json", "opsec.json") and len(packet) <= 100:
                out["seed-" + x["name"]] = packet
            elif err is not None and err not in errors:
                errors.add(err)
                out["seed-" + x["name"]] = packet
    return out


def sync_seeds(files, check):
    wanted = seeds(files)
    present = {n for n in os.listdir(SEED_DIR) if n.startswith("seed-")} if os.path.isdir(SEED_DIR) else set()
    stale = sorted(present - set(wanted))
    for name, data in sorted(wanted.items()):
        path = os.path.join(SEED_DIR, name)
        if check:
            if not os.path.exists(path) or open(path, "rb").read() != data:
                stale.append(name)
        else:
            os.makedirs(SEED_DIR, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
    if not check:
        for name in sorted(present - set(wanted)):
            os.remove(os.path.join(SEED_DIR, name))
        return []
    return stale


def main():
    check = "--check" in sys.argv[1:]
    files = build()
    names = [x["name"] for f in files for x in f.items]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        sys.exit("duplicate vector names: %s" % sorted(dup))
    stale = []
    for f in files:
        path = os.path.join(HERE, f.file)
        text = f.dump()
        if check:
            try:
                with open(path, encoding="utf-8") as fh:
                    if fh.read() != text:
                        stale.append(f.file)
            except FileNotFoundError:
                stale.append(f.file)
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    stale_seeds = sync_seeds(files, check)
    if stale_seeds:
        stale.append("fuzz seeds (%s)" % ", ".join(stale_seeds))
    total = len(names)
    if check:
        if stale:
            sys.exit("stale vector files (run python3 src-test-vectors/generate.py): %s" % ", ".join(stale))
        print("vectors: %d in %d files, up to date" % (total, len(files)))
    else:
        print("vectors: wrote %d in %d files" % (total, len(files)))


if __name__ == "__main__":
    main()
