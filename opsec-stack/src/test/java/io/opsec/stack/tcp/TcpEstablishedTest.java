package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.FIN;
import static io.opsec.stack.tcp.TcpFixture.PSH;
import static io.opsec.stack.tcp.TcpFixture.RST;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.URG;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsec.stack.wire.ParseError;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ESTABLISHED: data both ways, ACK policy, Nagle, retransmission, flow control (RFC 9293 §3.8). */
class TcpEstablishedTest {

    // ----------------------------------------------------------------------------- receiving

    @Test
    void established_data_isAckedAfterTheDelayedAckTimeout() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("hello"));
            f.expectNothing(at(209));
            f.expect(at(210), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 6));
            assertEquals("hello", new String(f.read(at(211), 100)));
            assertEquals(List.of("readable"), f.events);
        }
    }

    @Test
    void established_secondFullSegment_isAckedAtOnce() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(1460));
            f.expectNothing(at(10));
            f.deliver(at(11), f.seg().seq(f.remoteIss + 1461).ack(f.iss + 1).len(1460));
            f.expect(at(11), f.seg().flags(ACK).ack(f.remoteIss + 2921));
            f.expectNothing(at(500));
        }
    }

    @Test
    void established_outOfOrderData_isAckedAtOnceAndHoleFillAcksAll() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 101).ack(f.iss + 1).payload("B".repeat(100)));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1));
            assertEquals(0, f.conn.readableBytes());
            f.deliver(at(11), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("A".repeat(100)));
            f.expect(at(11), f.seg().flags(ACK).ack(f.remoteIss + 201));
            assertEquals("A".repeat(100) + "B".repeat(100), new String(f.read(at(12), 1000)));
        }
    }

    @Test
    void established_overlappingRetransmission_deliversEachByteOnce() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("abcd"));
            f.deliver(at(11), f.seg().seq(f.remoteIss + 3).ack(f.iss + 1).payload("cdefgh"));
            f.deliver(at(12), f.seg().seq(f.remoteIss + 10).ack(f.iss + 1).payload("jk"));
            f.deliver(at(13), f.seg().seq(f.remoteIss + 7).ack(f.iss + 1).payload("ghijkl"));
            assertEquals("abcdefghijkl", new String(f.read(at(14), 100)));
        }
    }

    @Test
    void established_dataBeyondWindow_isTrimmed() {
        TcpConfig cfg = TcpConfig.builder().receiveBufferSize(1000).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(1200));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1001).win(0));
            assertEquals(1000, f.conn.readableBytes());
        }
    }

    @Test
    void established_fullBuffer_advertisesZeroAndDropsFurtherData() {
        TcpConfig cfg = TcpConfig.builder().receiveBufferSize(2920).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(1460));
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1461).ack(f.iss + 1).len(1460));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 2921).win(0));
            // A zero-window probe with one byte: RFC 9293 §3.8.6.1 answers with the ACK and drops it.
            f.deliver(at(20), f.seg().seq(f.remoteIss + 2921).ack(f.iss + 1).len(1));
            f.expect(at(20), f.seg().flags(ACK).ack(f.remoteIss + 2921).win(0));
            assertEquals(2920, f.conn.readableBytes());
            // Reading everything opens the window: an update goes out at once.
            assertEquals(2920, f.read(at(30), 5000).length);
            f.expect(at(30), f.seg().flags(ACK).ack(f.remoteIss + 2921).win(2920));
        }
    }

    @Test
    void established_smallRead_sendsNoWindowUpdate_receiverSws() {
        TcpConfig cfg = TcpConfig.builder().receiveBufferSize(4000).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(1460));
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1461).ack(f.iss + 1).len(1460));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 2921).win(1080));
            f.read(at(20), 100);
            f.expectNothing(at(20)); // RFC 9293 §3.8.6.2.2: +100 is below min(buffer/2, MSS)
            f.read(at(30), 5000);
            f.expect(at(30), f.seg().flags(ACK).ack(f.remoteIss + 2921).win(4000));
        }
    }

    @Test
    void established_windowNeverShrinks() {
        TcpConfig cfg = TcpConfig.builder().receiveBufferSize(4000).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).len(1000));
            // The right edge stays at ISN + 1 + 4000 even though 1000 bytes are unread.
            f.expect(at(210), f.seg().flags(ACK).ack(f.remoteIss + 1001).win(3000));
            f.deliver(at(220), f.seg().seq(f.remoteIss + 1001).ack(f.iss + 1).len(3000));
            f.expect(at(220), f.seg().flags(ACK).ack(f.remoteIss + 4001).win(0));
        }
    }

    @Test
    void established_urgentData_isDeliveredInline() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(ACK | URG).seq(f.remoteIss + 1).ack(f.iss + 1).urgent(3).payload("!ab"));
            assertEquals("!ab", new String(f.read(at(11), 10)));
            // A pointer far beyond the data changes nothing either.
            f.deliver(at(12), f.seg().flags(ACK | URG).seq(f.remoteIss + 4).ack(f.iss + 1).urgent(65535).payload("c"));
            assertEquals("c", new String(f.read(at(13), 10)));
        }
    }

    @Test
    void established_fin_entersCloseWaitAndEndsInputAfterReading() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("bye"));
            f.expect(at(10), f.seg().flags(ACK).seq(f.iss + 1).ack(f.remoteIss + 5));
            f.assertState(TcpState.CLOSE_WAIT);
            assertFalse(f.conn.isInputEnded(), "bytes still unread");
            assertEquals("bye", new String(f.read(at(11), 10)));
            assertTrue(f.conn.isInputEnded());
            assertTrue(f.conn.writableBytes() > 0, "half-closed: we may still send");
        }
    }

    @Test
    void established_outOfOrderFin_waitsForTheHole() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 4).ack(f.iss + 1).payload("def"));
            f.expect(at(10), f.seg().flags(ACK).ack(f.remoteIss + 1));
            f.assertState(TcpState.ESTABLISHED);
            f.deliver(at(11), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("abc"));
            f.expect(at(11), f.seg().flags(ACK).ack(f.remoteIss + 8));
            f.assertState(TcpState.CLOSE_WAIT);
            assertEquals("abcdef", new String(f.read(at(12), 10)));
            assertTrue(f.conn.isInputEnded());
        }
    }

    // ----------------------------------------------------------------------------- sending

    @Test
    void established_send_goesOutWithPushAndStopsOnAck() {
        try (TcpFixture f = new TcpFixture().established()) {
            assertEquals(3, f.send(at(10), "abc".getBytes()));
            f.expect(at(10), f.seg().flags(PSH | ACK).seq(f.iss + 1).ack(f.remoteIss + 1).payload("abc"));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 4));
            f.expectNothing(at(5000));
            assertEquals(0, f.conn.unacknowledgedBytes());
        }
    }

    @Test
    void established_unackedData_isRetransmittedWithExponentialBackoff() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), "abc".getBytes());
            f.expect(at(10), f.seg().seq(f.iss + 1).payload("abc"));
            f.expectNothing(at(209));
            f.expect(at(210), f.seg().seq(f.iss + 1).payload("abc")); // RTO 200 ms (RFC 6298 §2.4 floor)
            f.expectNothing(at(609));
            f.expect(at(610), f.seg().seq(f.iss + 1).payload("abc")); // doubled (§5.5)
            f.expect(at(1410), f.seg().seq(f.iss + 1).payload("abc"));
            f.deliver(at(1500), f.seg().seq(f.remoteIss + 1).ack(f.iss + 4));
            f.expectNothing(at(10_000));
        }
    }

    @Test
    void established_retransmissionsExhausted_failWithTimeoutAndRst() {
        TcpConfig cfg = TcpConfig.builder().maxRetransmits(3).userTimeout(Duration.ZERO).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.send(at(10), "abc".getBytes());
            f.expect(at(10), f.seg().payload("abc"));
            f.expect(at(210), f.seg().payload("abc"));
            f.expect(at(610), f.seg().payload("abc"));
            f.expect(at(1410), f.seg().payload("abc"));
            f.expect(at(3010), f.seg().flags(RST).seq(f.iss + 4));
            f.assertState(TcpState.CLOSED);
            assertEquals(TcpError.TIMEOUT, f.conn.error());
            assertTrue(f.events.contains("closed TIMEOUT"));
        }
    }

    @Test
    void established_userTimeout_failsBeforeTheRetransmissionLimit() {
        TcpConfig cfg = TcpConfig.builder().userTimeout(Duration.ofMillis(1000)).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.send(at(10), "abc".getBytes());
            f.expect(at(10), f.seg().payload("abc"));
            f.expect(at(210), f.seg().payload("abc"));
            f.expect(at(610), f.seg().payload("abc"));
            // At 1410 ms, 1400 ms have passed without progress: abort.
            f.expect(at(1410), f.seg().flags(RST));
            assertEquals(TcpError.TIMEOUT, f.conn.error());
        }
    }

    @Test
    void established_nagle_holdsSmallSegmentWhileDataIsUnacked() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), "one".getBytes());
            f.expect(at(10), f.seg().payload("one"));
            f.send(at(11), "two".getBytes());
            f.send(at(12), "three".getBytes());
            f.expectNothing(at(12));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 4));
            f.expect(at(20), f.seg().seq(f.iss + 4).payload("twothree"));
        }
    }

    @Test
    void established_noDelay_sendsEverySmallSegment() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.setNoDelay(true, at(0));
            f.send(at(10), "one".getBytes());
            f.send(at(11), "two".getBytes());
            f.expect(at(11), f.seg().seq(f.iss + 1).payload("one"));
            f.expect(at(11), f.seg().seq(f.iss + 4).payload("two"));
        }
    }

    @Test
    void established_nagle_neverHoldsFullSegments() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 3000);
            f.expect(at(10), f.seg().seq(f.iss + 1).len(1460));
            f.expect(at(10), f.seg().seq(f.iss + 1461).len(1460));
            f.expectNothing(at(10)); // the 80-byte tail waits for an ACK
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 2921));
            f.expect(at(20), f.seg().seq(f.iss + 2921).len(80));
        }
    }

    @Test
    void established_initialWindow_isTenSegments() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 20 * 1460);
            // RFC 6928: min(10*MSS, max(2*MSS, 14600)) = 14600 bytes = 10 segments of 1460.
            for (int i = 0; i < 10; i++) {
                f.expect(at(10), f.seg().seq(f.iss + 1 + i * 1460).len(1460));
            }
            f.expectNothing(at(10));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 2920));
            // slow start: +2 SMSS for 2 SMSS acknowledged (RFC 3465 L=2), and 2 more left the pipe
            for (int i = 10; i < 14; i++) {
                f.expect(at(20), f.seg().seq(f.iss + 1 + i * 1460).len(1460));
            }
            f.expectNothing(at(20));
        }
    }

    @Test
    void established_peerWindow_limitsSending() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(5), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(2920));
            f.send(at(10), 5000);
            f.expect(at(10), f.seg().seq(f.iss + 1).len(1460));
            f.expect(at(10), f.seg().seq(f.iss + 1461).len(1460));
            f.expectNothing(at(10));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1461).win(2920));
            f.expect(at(20), f.seg().seq(f.iss + 2921).len(1460));
        }
    }

    @Test
    void established_zeroWindow_isProbedWithBackoffUntilItOpens() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(5), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(0));
            f.send(at(10), 100);
            f.expectNothing(at(209));
            // The probe: SEQ = SND.UNA - 1, no data, so the peer must answer with its window.
            f.expect(at(210), f.seg().flags(ACK).seq(f.iss).len(0));
            f.expectNothing(at(609));
            f.expect(at(610), f.seg().flags(ACK).seq(f.iss).len(0));
            f.deliver(at(700), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(0));
            f.expect(at(1410), f.seg().flags(ACK).seq(f.iss).len(0));
            f.deliver(at(1500), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(1000));
            f.expect(at(1500), f.seg().seq(f.iss + 1).len(100));
        }
    }

    @Test
    void established_zeroWindowProbesUnanswered_failWithTimeout() {
        TcpConfig cfg = TcpConfig.builder().maxRetransmits(2).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.deliver(at(5), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(0));
            f.send(at(10), 100);
            f.expect(at(210), f.seg().seq(f.iss).len(0));
            f.expect(at(610), f.seg().seq(f.iss).len(0));
            f.expect(at(1410), f.seg().flags(RST));
            assertEquals(TcpError.TIMEOUT, f.conn.error());
        }
    }

    @Test
    void established_smallWindow_isFilledAfterTheSwsOverrideTimeout() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(5), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(1000));
            f.send(at(10), 3000);
            // RFC 9293 §3.8.6.2.1: 1000 bytes is under half the largest window seen (65535): wait...
            f.expectNothing(at(209));
            // ...until the override timeout, then send what fits.
            f.expect(at(210), f.seg().seq(f.iss + 1).len(1000));
        }
    }

    @Test
    void established_sendBufferFull_acceptsOnlyWhatFits() {
        TcpConfig cfg = TcpConfig.builder().sendBufferSize(1000).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            assertEquals(1000, f.send(at(10), 1500));
            assertEquals(0, f.conn.writableBytes());
            assertEquals(0, f.send(at(10), 10));
            f.expect(at(10), f.seg().len(1000));
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1001));
            assertEquals(1000, f.conn.writableBytes());
            assertTrue(f.events.contains("writable"));
        }
    }

    @Test
    void established_piggybacksPendingAckOnData() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("ping"));
            f.send(at(20), "pong".getBytes());
            f.expect(at(20), f.seg().flags(PSH | ACK).seq(f.iss + 1).ack(f.remoteIss + 5).payload("pong"));
            f.expectNothing(at(219)); // the delayed ACK (due at 210) was settled by the data segment
        }
    }

    // ----------------------------------------------------------------------------- loss recovery

    @Test
    void established_threeDuplicateAcks_triggerFastRetransmit() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 5 * 1460);
            for (int i = 0; i < 5; i++) {
                f.expect(at(10), f.seg().seq(f.iss + 1 + i * 1460).len(1460));
            }
            f.deliver(at(20), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1));
            f.deliver(at(21), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1));
            f.expectNothing(at(21));
            f.deliver(at(22), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1));
            f.expect(at(22), f.seg().seq(f.iss + 1).len(1460)); // RFC 5681 §3.2 step 2
            f.expectNothing(at(22));
            assertTrue(f.conn.info().inRecovery());
            assertEquals(3650, f.conn.info().ssthresh()); // max(FlightSize / 2, 2*SMSS)
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 5 * 1460));
            assertFalse(f.conn.info().inRecovery());
            assertEquals(1, f.ep.stats().fastRetransmits());
        }
    }

    @Test
    void established_partialAck_retransmitsTheNextHole_newReno() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 5 * 1460);
            f.drain();
            for (int i = 0; i < 3; i++) {
                f.deliver(at(20 + i), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1));
            }
            f.expect(at(22), f.seg().seq(f.iss + 1).len(1460));
            // RFC 6582 §3.2 step 4: the partial ACK shows the next segment lost too.
            f.deliver(at(30), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1 + 2 * 1460));
            f.expect(at(30), f.seg().seq(f.iss + 1 + 2 * 1460).len(1460));
            assertTrue(f.conn.info().inRecovery());
        }
    }

    @Test
    void established_windowUpdate_isNotADuplicateAck() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 5 * 1460);
            f.drain();
            for (int i = 0; i < 3; i++) {
                f.deliver(at(20 + i), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).win(60000 + i));
            }
            f.expectNothing(at(22)); // RFC 5681 §2: a changed window does not count
        }
    }

    @Test
    void established_rto_collapsesWindowAndRetransmitsFromSndUna() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 3 * 1460);
            f.drain();
            f.expect(at(210), f.seg().seq(f.iss + 1).len(1460));
            f.expectNothing(at(210)); // cwnd is one segment (RFC 5681 §3.1 loss window)
            assertEquals(1460, f.conn.info().cwnd());
            f.deliver(at(220), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1461));
            // slow start: cwnd 2 segments, the two remaining go again (RFC 6675 §5.1 / go-back)
            f.expect(at(220), f.seg().seq(f.iss + 1461).len(1460));
            f.expect(at(220), f.seg().seq(f.iss + 2921).len(1460));
        }
    }

    // ----------------------------------------------------------------------------- closing

    @Test
    void established_closeWithUnreadData_resets() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("unread"));
            f.conn.close(at(20));
            f.expect(at(20), f.seg().flags(RST).seq(f.iss + 1));
            f.assertState(TcpState.CLOSED);
            assertEquals(TcpError.ABORTED, f.conn.error());
        }
    }

    @Test
    void established_closeAfterData_sendsDataThenFin() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.setNoDelay(true, at(0));
            f.send(at(10), "last".getBytes());
            f.conn.close(at(10));
            f.expect(at(10), f.seg().flags(PSH | ACK).seq(f.iss + 1).payload("last"));
            f.expect(at(10), f.seg().flags(FIN | ACK).seq(f.iss + 5).len(0));
            f.assertState(TcpState.FIN_WAIT_1);
        }
    }

    @Test
    void established_closeWithQueuedData_carriesFinOnTheLastSegment() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.close(at(10));
            f.expect(at(10), f.seg().flags(FIN | ACK).seq(f.iss + 1));
            assertEquals(-1, f.send(at(11), 3), "no sending after close");
        }
    }

    @Test
    void established_abort_sendsRstAndDiscards() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.send(at(10), 100);
            f.drain();
            f.conn.abort(at(20));
            f.expect(at(20), f.seg().flags(RST).seq(f.iss + 101));
            assertEquals(TcpError.ABORTED, f.conn.error());
            f.expectNothing(at(10_000));
        }
    }

    @Test
    void established_rst_reportsResetToTheUser() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(RST).seq(f.remoteIss + 1));
            assertEquals(TcpError.RESET, f.conn.error());
            assertEquals(List.of("closed RESET"), f.events);
            assertTrue(f.conn.isInputEnded());
            assertEquals(0, f.ep.connectionCount());
        }
    }

    // ----------------------------------------------------------------------------- keepalive, input checks

    @Test
    void established_keepAlive_probesAfterIdleAndFailsWithoutAnswer() {
        TcpConfig cfg = TcpConfig.builder().keepAlive(true)
                .keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(1), 3).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.expectNothing(at(9999));
            f.expect(at(10_000), f.seg().flags(ACK).seq(f.iss).ack(f.remoteIss + 1).len(0)); // SND.NXT - 1
            f.deliver(at(10_050), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1));
            f.expectNothing(at(20_049));
            f.expect(at(20_050), f.seg().seq(f.iss).len(0));
            f.expect(at(21_050), f.seg().seq(f.iss).len(0));
            f.expect(at(22_050), f.seg().seq(f.iss).len(0));
            f.expect(at(23_050), f.seg().flags(RST));
            assertEquals(TcpError.TIMEOUT, f.conn.error());
        }
    }

    @Test
    void established_keepAliveWithDataInFlightAndSilentPeer_doesNotSpin() {
        TcpConfig cfg = TcpConfig.builder().keepAlive(true).maxRetransmits(30).userTimeout(Duration.ZERO)
                .keepAlive(Duration.ofSeconds(1), Duration.ofSeconds(1), 3).build();
        try (TcpFixture f = new TcpFixture(cfg).established()) {
            f.send(at(10), 100);
            f.advance(at(60_000)); // retransmissions back off; the keepalive timer must not spin
            f.drain();
            f.assertState(TcpState.ESTABLISHED);
        }
    }

    @Test
    void established_keepAliveOffByDefault() {
        try (TcpFixture f = new TcpFixture().established()) {
            assertFalse(f.conn.keepAlive());
            f.expectNothing(at(10L * 3600 * 1000));
            f.assertState(TcpState.ESTABLISHED);
        }
    }

    @Test
    void malformedPackets_areCountedPerReasonAndDropped() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliverRaw(at(10), new byte[] {0x45, 0, 0});
            var pkt = f.build(f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("x"));
            pkt.setByte(pkt.writerIndex() - 1, 'y'); // payload changed after the checksum
            f.ep.receive(pkt, at(11));
            f.expectNothing(at(11));
            assertEquals(1, f.ep.stats().parseErrors(ParseError.IP_TRUNCATED));
            assertEquals(1, f.ep.stats().parseErrors(ParseError.TCP_BAD_CHECKSUM));
            assertEquals(0, f.conn.readableBytes());
        }
    }

    @Test
    void packetForAnotherAddress_isIgnored() {
        try (TcpFixture f = new TcpFixture().listening()) {
            var out = f.alloc.buffer();
            io.opsec.stack.wire.TcpSegment.emit(out, TcpFixture.REMOTE, TcpFixture.REMOTE + 1, 0,
                    io.opsec.stack.wire.TcpHeader.of(1, 80, 1, 0, SYN, 100, List.of()), null);
            f.ep.receive(out, at(0));
            f.expectNothing(at(0));
            assertEquals(1, f.ep.stats().notForUs());
        }
    }
}
