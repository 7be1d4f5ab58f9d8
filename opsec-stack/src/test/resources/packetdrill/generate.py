#!/usr/bin/env python3
"""Writes the generated script families under packetdrill/ (states/, rfc5961/).

Run from this folder: python3 generate.py. Each generated file is a complete, readable script;
the generator only saves typing. Hand-written scripts live in the other folders and are never
touched here. Expected behaviour comes from RFC 9293 section 3.10.7 and RFC 5961, cited in each
file; where the stack is known to differ, the KNOWN_FAILURES table below adds a status line.
"""
import os
import shutil

WND = 65535

HEAD = """0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0    bind(3, ..., ...) = 0
+0    listen(3, 1) = 0
+0    < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 <mss 1460>
"""
EST = HEAD + """+.1   < . 1:1(0) ack 1 win 65535
+0    accept(3, ..., ...) = 4
"""
FW1 = EST + """+0    shutdown(4, SHUT_WR) = 0
+0    > F. 1:1(0) ack 1
"""
FW2 = FW1 + """+0    < . 1:1(0) ack 2 win 65535
"""
CW = EST + """+0    < F. 1:1(0) ack 1 win 65535
+0    > . 1:1(0) ack 2
"""
LA = CW + """+0    close(4) = 0
+0    > F. 1:1(0) ack 2
"""
CL = FW1 + """+0    < F. 1:1(0) ack 1 win 65535
+0    > . 2:2(0) ack 2
"""
TW = FW2 + """+0    < F. 1:1(0) ack 2 win 65535
+0    > . 2:2(0) ack 2
"""
SR = HEAD + """+.1   %{ assert connections == 1 }%
"""

# name: (fixture, linux state, RCV.NXT, SND.NXT, SND.UNA (the ack our injected segments carry), how it got there)
STATES = {
    "syn-received": (SR, "TCP_SYN_RECV", 1, 1, 1, "a passive open: the peer's SYN arrived and our SYN-ACK is out"),
    "established": (EST, "TCP_ESTABLISHED", 1, 1, 1, "a passive open completed and accepted"),
    "fin-wait-1": (FW1, "TCP_FIN_WAIT1", 1, 2, 1, "ESTABLISHED, then shutdown(SHUT_WR): our FIN is unacknowledged"),
    "fin-wait-2": (FW2, "TCP_FIN_WAIT2", 1, 2, 2, "FIN-WAIT-1, then the peer acknowledged our FIN"),
    "close-wait": (CW, "TCP_CLOSE_WAIT", 2, 1, 1, "ESTABLISHED, then the peer's FIN"),
    "last-ack": (LA, "TCP_LAST_ACK", 2, 2, 1, "CLOSE-WAIT, then close(): our FIN is unacknowledged"),
    "closing": (CL, "TCP_CLOSING", 2, 2, 1, "FIN-WAIT-1, then the peer's FIN crossed ours"),
    "time-wait": (TW, "TCP_TIME_WAIT", 2, 2, 2, "FIN-WAIT-2, then the peer's FIN"),
}
FIN_RECEIVED = {"close-wait", "last-ack", "closing", "time-wait"}
CAN_READ = {"established", "fin-wait-1", "fin-wait-2"}

POSITIONS = {
    "left-edge": "at RCV.NXT, the left edge of the receive window",
    "inside": "inside the receive window (RCV.NXT + 1000)",
    "right-edge": "at RCV.NXT + RCV.WND, the first sequence number beyond the right edge (outside)",
    "old": "below the left edge (an old duplicate ending before RCV.NXT)",
}

# (state, segment, position) -> reason: the stack is known to differ from the RFC here.
# Empty now: the nine SYN-RECEIVED scripts for unacceptable segments (no ACK, RFC 9293 §3.10.7.4
# first) were known failures until the TCP engine was fixed in 42f4bd9 (see docs/conformance.md).
KNOWN_FAILURES = {}


def pos_seq(pos, rcv_nxt, seg):
    if pos == "left-edge":
        return rcv_nxt
    if pos == "inside":
        return rcv_nxt + 1000
    if pos == "right-edge":
        return rcv_nxt + WND
    return (rcv_nxt - 1000) % 2**32


def ack_line(snd, rcv):
    return f"+0    > . {snd}:{snd}(0) ack {rcv}\n"


def state_assert(st, linux):
    if st == "syn-received":
        return ""
    return f"+0    %{{ assert tcpi_state == {linux} }}%\n"


def gen_state(st, seg, pos):
    fixture, linux, R, S, U, how = STATES[st]
    X = pos_seq(pos, R, seg)
    sr = st == "syn-received"
    inside_wnd = pos in ("left-edge", "inside")
    cite = []
    body = ""
    what = ""
    if seg == "rst":
        line = f"+0    < R {X}:{X}(0) win 0\n"
        what = "a RST"
        if pos == "left-edge":
            cite.append("RFC 9293 §3.10.7.4 second, RFC 5961 §3.2: a RST exactly at RCV.NXT resets the connection")
            if sr:
                body = "+0    %{ assert connections == 0 }%\n"
                outcome = "the half-open connection goes back to LISTEN (it is forgotten), silently"
            elif st == "time-wait":
                cite.append("RFC 1337 §3 fix (1): TIME-WAIT ignores RSTs (the stack's documented deviation)")
                body = state_assert(st, linux)
                outcome = "ignored: TIME-WAIT stays (no assassination)"
            else:
                body = "+0    %{ assert tcpi_state == TCP_CLOSE }%\n"
                if st in CAN_READ or st == "close-wait":
                    body += "+0    read(4, ..., 1000) = -1 ECONNRESET\n"
                outcome = "the connection is closed" + (" and the reader sees ECONNRESET" if st in CAN_READ or st == "close-wait" else "")
        elif pos == "inside":
            cite.append("RFC 5961 §3.2 (RFC 9293 §3.10.7.4 second): an in-window RST that is not exact gets a challenge ACK")
            body = ack_line(S, R) + (state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n")
            outcome = "a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>, state unchanged"
        else:
            cite.append("RFC 9293 §3.10.7.4 first: an unacceptable RST is dropped without reply")
            body = state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n"
            outcome = "dropped silently"
    elif seg in ("syn", "synack"):
        flags = "S" if seg == "syn" else "S."
        ackpart = f" ack {U}" if seg == "synack" else ""
        line = f"+0    < {flags} {X}:{X}(0){ackpart} win 65535 <mss 1460>\n"
        what = "a SYN" if seg == "syn" else "a SYN-ACK"
        if st == "time-wait" and seg == "syn" and X != R and pos != "old":
            cite.append("RFC 9293 §3.10.7.4 fourth and RFC 6191 / RFC 1122 §4.2.2.13 (MAY-?): a SYN beyond RCV.NXT "
                        "in TIME-WAIT, with a listener, may open a new incarnation of the connection")
            body = f"+0    > S. 0:0(0) ack {(X + 1) % 2**32} <mss 1460>\n"
            outcome = "TIME-WAIT ends and a new connection answers with a SYN-ACK"
        elif not inside_wnd and not sr:
            cite.append("RFC 9293 §3.10.7.4 first: an unacceptable segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> "
                        "(RFC 5961 §4.2 asks the same ACK for any SYN)")
            body = ack_line(S, R) + state_assert(st, linux)
            outcome = "an ACK, state unchanged"
        elif sr and pos == "old" and seg == "syn":
            X = 0
            line = f"+0    < S 0:0(0) win 65535 <mss 1460>\n"
            cite.append("RFC 9293 §3.8.1 / §3.10.7.4: the peer retransmitted its SYN, so our SYN-ACK was lost: "
                        "it is sent again, identical")
            body = "+0    > S. 0:0(0) ack 1 <mss 1460>\n+0    %{ assert connections == 1 }%\n"
            outcome = "our SYN-ACK again"
        else:
            cite.append("RFC 5961 §4.2 (RFC 9293 §3.10.7.4 fourth, MUST): a SYN in a synchronized state, wherever its "
                        "sequence number, gets a challenge ACK")
            body = ack_line(S, R) + (state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n")
            outcome = "a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>, state unchanged"
    elif seg == "ack":
        line = f"+0    < . {X}:{X}(0) ack {U} win 65535\n"
        what = "a bare ACK (acknowledging nothing new)" if not sr else "the ACK of our SYN-ACK"
        if inside_wnd:
            if sr:
                cite.append("RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: an acceptable ACK of our SYN enters ESTABLISHED")
                body = "+0    accept(3, ..., ...) = 4\n+0    %{ assert tcpi_state == TCP_ESTABLISHED }%\n"
                outcome = "ESTABLISHED, nothing sent"
            else:
                cite.append("RFC 9293 §3.10.7.4 first: a zero-length segment with RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND is "
                            "acceptable; it acknowledges nothing new, so nothing is sent")
                body = state_assert(st, linux)
                outcome = "nothing sent, state unchanged"
        else:
            cite.append("RFC 9293 §3.10.7.4 first: an unacceptable segment is answered with "
                        "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped")
            body = ack_line(S, R) + (state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n")
            outcome = "an ACK, state unchanged"
    elif seg == "data":
        end = (X + 100) % 2**32
        line = f"+0    < P. {X}:{end}(100) ack {U} win 65535\n"
        what = "100 bytes of data"
        if pos == "left-edge" and (st in CAN_READ or sr):
            cite.append("RFC 9293 §3.10.7.4 seventh: in-order data is accepted; RFC 9293 §3.8.6.3 / RFC 1122 "
                        "§4.2.3.2 (SHLD-18, MUST-40): its ACK may be delayed, here by 200 ms")
            body = ""
            if sr:
                body += "+0    accept(3, ..., ...) = 4\n"
            fd_read = "+0    read(4, ..., 1000) = 100\n"
            body += f"+.2   > . {S}:{S}(0) ack {R + 100}\n" + fd_read
            body += state_assert("established" if sr else st, "TCP_ESTABLISHED" if sr else linux)
            outcome = "accepted, a delayed ACK 200 ms later, the 100 bytes readable"
        elif pos == "inside" and (st in CAN_READ or sr):
            cite.append("RFC 9293 §3.10.7.4 seventh and RFC 5681 §4.2 (SHOULD): out-of-order data is kept and "
                        "answered at once with a duplicate ACK for RCV.NXT")
            body = ack_line(S, R) + ("+0    accept(3, ..., ...) = 4\n" if sr else "")
            body += "+0    read(4, ..., 1000) = -1 EAGAIN\n"
            body += state_assert("established" if sr else st, "TCP_ESTABLISHED" if sr else linux)
            outcome = "an immediate duplicate ACK; nothing readable yet"
        elif inside_wnd:
            cite.append("RFC 9293 §3.10.7.4 seventh: after the peer's FIN, text \"should not occur\"; it is ignored")
            body = state_assert(st, linux)
            outcome = "ignored, nothing sent"
        else:
            cite.append("RFC 9293 §3.10.7.4 first: an unacceptable segment is answered with "
                        "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped")
            body = ack_line(S, R) + (state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n")
            outcome = "an ACK, the data dropped"
    elif seg == "fin":
        if pos == "old" and st in FIN_RECEIVED:
            X = R - 1
        line = f"+0    < F. {X}:{X}(0) ack {U} win 65535\n"
        what = "a FIN"
        nxt = {"established": "TCP_CLOSE_WAIT", "fin-wait-1": "TCP_CLOSING", "fin-wait-2": "TCP_TIME_WAIT"}
        if pos == "left-edge" and (st in CAN_READ or sr):
            cite.append("RFC 9293 §3.10.7.4 eighth: an in-order FIN advances RCV.NXT and is acknowledged at once")
            body = ack_line(S, R + 1) + ("+0    accept(3, ..., ...) = 4\n" if sr else "")
            body += "+0    read(4, ..., 1000) = 0\n"
            body += f"+0    %{{ assert tcpi_state == {nxt['established' if sr else st]} }}%\n"
            outcome = "ACK of the FIN, end of stream, " + nxt["established" if sr else st]
        elif pos == "inside" and (st in CAN_READ or sr):
            cite.append("RFC 9293 §3.10.7.4 eighth applies only once RCV.NXT reaches the FIN; until then it is "
                        "out of order and answered with a duplicate ACK (RFC 5681 §4.2)")
            body = ack_line(S, R) + ("+0    accept(3, ..., ...) = 4\n" if sr else "")
            body += state_assert("established" if sr else st, "TCP_ESTABLISHED" if sr else linux)
            outcome = "a duplicate ACK, state unchanged"
        elif pos == "old" and st in FIN_RECEIVED:
            cite.append("RFC 9293 §3.10.7.4 first: the retransmitted FIN is unacceptable (before RCV.NXT) and is "
                        "answered with an ACK" + ("; eighth, TIME-WAIT: acknowledge it and restart the 2 MSL timeout"
                                                    if st == "time-wait" else ""))
            body = ack_line(S, R) + state_assert(st, linux)
            outcome = "an ACK of the FIN again, state unchanged"
        elif inside_wnd:
            cite.append("RFC 9293 §3.10.7.4 eighth: a FIN is acknowledged; CLOSE-WAIT, CLOSING and LAST-ACK "
                        "\"remain\", TIME-WAIT acknowledges and restarts 2 MSL. A second FIN beyond the first cannot "
                        "be genuine, so RCV.NXT stays where the first FIN put it")
            body = ack_line(S, R) + state_assert(st, linux)
            outcome = "an ACK for RCV.NXT, state unchanged"
        else:
            cite.append("RFC 9293 §3.10.7.4 first: an unacceptable segment is answered with "
                        "<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped")
            body = ack_line(S, R) + (state_assert(st, linux) if not sr else "+0    %{ assert connections == 1 }%\n")
            outcome = "an ACK, state unchanged"
    text = f"// {st.upper()} + {what} {POSITIONS[pos] if not (seg == 'fin' and pos == 'old' and st in FIN_RECEIVED) else 'at RCV.NXT - 1 (a retransmission of the FIN already received)'}:\n"
    text += f"// expect {outcome}.\n"
    for c in cite:
        text += f"// {c}.\n"
    text += f"// Fixture: {how}. RCV.NXT={R}, SND.NXT={S}, RCV.WND={WND}.\n"
    key = (st, seg, pos)
    if key in KNOWN_FAILURES:
        text += f"# status: known-failure {KNOWN_FAILURES[key]}\n"
    text += "\n" + fixture + "\n" + line + body
    return text


def gen_rfc5961(st, kind):
    fixture, linux, R, S, U, how = STATES[st]
    if kind == "ack-beyond-snd-nxt":
        ack = S + 1000
        head = (f"// {st.upper()} + data at RCV.NXT acknowledging 1000 bytes beyond SND.NXT: RFC 5961 §5.2 "
                f"(RFC 9293 §3.10.7.4 fifth): \"If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then "
                f"send an ACK, drop the segment, and return\": an ACK <SEQ=SND.NXT><ACK=RCV.NXT>, the data not "
                f"taken.\n")
    else:
        ack = (U - 70000) % 2**32
        head = (f"// {st.upper()} + data at RCV.NXT whose ACK lies below SND.UNA - MAX.SND.WND (70000 bytes back, the "
                f"peer's window is 65535): RFC 5961 §5.2 (RFC 9293 §3.10.7.4 fifth, MUST): the segment is "
                f"dropped and answered with an ACK <SEQ=SND.NXT><ACK=RCV.NXT>; blind data injection fails.\n")
    text = head + f"// Fixture: {how}. RCV.NXT={R}, SND.NXT={S}, SND.UNA={U}.\n\n" + fixture + "\n"
    text += f"+0    < P. {R}:{R + 100}(100) ack {ack} win 65535\n"
    text += ack_line(S, R)
    if st in CAN_READ:
        text += "+0    read(4, ..., 1000) = -1 EAGAIN\n"
    text += state_assert(st, linux)
    return text


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "states")
    if os.path.isdir(out):
        shutil.rmtree(out)
    n = 0
    for st in STATES:
        os.makedirs(os.path.join(out, st))
        for seg in ("syn", "synack", "ack", "data", "fin", "rst"):
            for pos in POSITIONS:
                with open(os.path.join(out, st, f"{seg}-{pos}.pkt"), "w") as f:
                    f.write(gen_state(st, seg, pos))
                n += 1
    out = os.path.join(here, "rfc5961")  # also holds hand-written scripts: overwrite only ours
    os.makedirs(out, exist_ok=True)
    for st in STATES:
        if st == "syn-received":
            continue
        for kind in ("ack-beyond-snd-nxt", "ack-below-window"):
            with open(os.path.join(out, f"{st}-{kind}.pkt"), "w") as f:
                f.write(gen_rfc5961(st, kind))
            n += 1
    print(f"wrote {n} scripts")


if __name__ == "__main__":
    main()
