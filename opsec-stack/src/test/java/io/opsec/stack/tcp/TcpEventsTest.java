package io.opsec.stack.tcp;

import static io.opsec.stack.tcp.TcpFixture.ACK;
import static io.opsec.stack.tcp.TcpFixture.FIN;
import static io.opsec.stack.tcp.TcpFixture.PSH;
import static io.opsec.stack.tcp.TcpFixture.SYN;
import static io.opsec.stack.tcp.TcpFixture.at;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Readiness callbacks: when they run, what they report, and that they may call back in. */
class TcpEventsTest {

    @Test
    void callbacks_mayCallBackIn_anEchoFromOnReadable() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.conn.setNoDelay(true, at(0));
            f.conn.setEvents(new ConnectionEvents() {
                @Override
                public void onReadable(TcpConnection c) {
                    ByteBuf b = c.read(1000, at(10));
                    if (b != null) {
                        c.send(b, at(10));
                        b.release();
                    }
                }
            });
            f.deliver(at(10), f.seg().seq(f.remoteIss + 1).ack(f.iss + 1).payload("echo me"));
            f.expect(at(10), f.seg().flags(PSH | ACK).seq(f.iss + 1).ack(f.remoteIss + 8).payload("echo me"));
        }
    }

    @Test
    void acceptCallback_runsWhenTheHandshakeCompletes() {
        try (TcpFixture f = new TcpFixture().listening()) {
            List<TcpConnection> got = new ArrayList<>();
            f.listener.setOnAcceptable(l -> {
                TcpConnection c;
                while ((c = f.ep.accept(l)) != null) {
                    got.add(c);
                }
            });
            f.deliver(at(0), f.seg().flags(SYN).seq(f.remoteIss));
            f.drain();
            assertEquals(0, got.size());
            f.deliver(at(1), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 1));
            assertEquals(1, got.size());
            assertEquals(TcpState.ESTABLISHED, got.get(0).state());
        }
    }

    @Test
    void events_forAWholeActiveConnection_inOrder() {
        try (TcpFixture f = new TcpFixture().synSent()) {
            f.deliver(at(5), f.seg().flags(SYN | ACK).seq(f.remoteIss).ack(f.iss + 1));
            f.conn.setNoDelay(true, at(5));
            f.send(at(6), "q".getBytes());
            f.deliver(at(7), f.seg().flags(ACK).seq(f.remoteIss + 1).ack(f.iss + 2).payload("a"));
            f.deliver(at(8), f.seg().flags(FIN | ACK).seq(f.remoteIss + 2).ack(f.iss + 2));
            f.read(at(9), 10);
            assertTrue(f.conn.isInputEnded());
            f.conn.close(at(10));
            f.drain();
            f.deliver(at(11), f.seg().flags(ACK).seq(f.remoteIss + 3).ack(f.iss + 3));
            assertEquals(List.of("established", "readable", "writable", "readable", "closed null"), f.events);
        }
    }

    @Test
    void events_areNotDeliveredTwicePerCall() {
        try (TcpFixture f = new TcpFixture().established()) {
            f.deliver(at(10), f.seg().flags(FIN | ACK).seq(f.remoteIss + 1).ack(f.iss + 1).payload("data+fin"));
            assertEquals(List.of("readable"), f.events);
        }
    }
}
