"""
Tests for L{mice.protocols.amqp}: broker URLs (their passwords never
shown), queue names, and delivered messages checked like link batches.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.protocols import amqp, wire


class UrlTests(SynchronousTestCase):
    def test_defaults(self):
        """
        Without credentials, port or vhost: RabbitMQ's guest, 5672 (5671
        for amqps) and C{/}.
        """
        url = amqp.parseAmqpUrl("amqp://127.0.0.1")
        self.assertEqual((url.host, url.port, url.vhost, url.user, url.password, url.tls),
                         ("127.0.0.1", 5672, "/", "guest", "guest", False))
        url = amqp.parseAmqpUrl("amqps://mq.example.org/mice?cacertfile=/etc/ca.pem")
        self.assertEqual((url.port, url.vhost, url.tls, url.option("cacertfile")),
                         (5671, "mice", True, "/etc/ca.pem"))

    def test_credentialsAndVhost(self):
        url = amqp.parseAmqpUrl("amqp://mice:s%40cret@[::1]:5673/%2Fprod?heartbeat=10")
        self.assertEqual((url.host, url.port, url.vhost, url.user, url.password,
                          url.option("heartbeat")), ("::1", 5673, "/prod", "mice", "s@cret", "10"))

    def test_passwordNeverShown(self):
        """
        The repr, str and masked forms of a URL never hold its password.
        """
        url = amqp.parseAmqpUrl("amqp://mice:hunter2@mq:5672/v")
        target = amqp.BrokerTarget(url, "logs")
        for text in (repr(url), str(url), url.masked, str(target), repr(target)):
            self.assertNotIn("hunter2", text)
        self.assertEqual(url.masked, "amqp://mice:********@mq:5672/v")

    @given(st.text(alphabet="abcdefghij0123456789", min_size=6, max_size=20))
    def test_errorsNeverShowThePassword(self, password):
        for text in (f"http://u:{password}@mq/", f"amqp://u:{password}@mq/?bogus=1",
                     f"amqp://u:{password}@mq:99999/", f"amqp://u:{password}@mq/?heartbeat=x"):
            with self.assertRaises(amqp.BrokerError) as e:
                amqp.parseAmqpUrl(text)
            self.assertNotIn(password, str(e.exception))

    def test_tlsOptionsNeedAmqps(self):
        with self.assertRaises(amqp.BrokerError) as e:
            amqp.parseAmqpUrl("amqp://mq/?cacertfile=/ca.pem")
        self.assertIn("needs amqps://", str(e.exception))

    def test_queueNames(self):
        self.assertEqual(amqp.checkQueueName("mice.rawlog"), "mice.rawlog")
        for bad in ("", "a b", "x" * 256, None):
            self.assertRaises(amqp.BrokerError, amqp.checkQueueName, bad)


class DeliveryTests(SynchronousTestCase):
    def body(self, **changes):
        message = wire.batch(7, "/var/log/messages", 1, {"hostname": "web01"},
                             [["2004-11-22", "10:00:00", "line", ""]])
        message.update(changes)
        return wire.encodeMessage(message)

    def test_decoded(self):
        """
        The source and kind come from the headers, and the delivery tag
        replaces the sender's batch id (the acknowledgement names it).
        """
        source, kind, message = amqp.decodeDelivery(amqp.headers("web01", "log"), self.body(),
                                                    42)
        self.assertEqual((source, kind, message["id"], message["seq"]), ("web01", "log", 42, 1))
        batch = wire.checkBatch(message)
        self.assertEqual(list(batch.recordNumbers()), [1])

    def test_bytesHeaders(self):
        headers = {amqp.HEADER_SOURCE: b"web01", amqp.HEADER_KIND: b"idmef"}
        self.assertEqual(amqp.decodeDelivery(headers, self.body(), 1)[:2], ("web01", "idmef"))

    def test_notABatch(self):
        """
        A message without M-ICE headers, or whose body is not a message, is
        a L{amqp.BrokerError} that says what is wrong.
        """
        cases = [(None, self.body(), "source"),
                 (amqp.headers("web01", "pictures"), self.body(), "unknown kind"),
                 (amqp.headers("web 01", "log"), self.body(), "source"),
                 (amqp.headers("web01", "log"), b"\xff", "invalid UTF-8"),
                 (amqp.headers("web01", "log"), b"[1]", "not an object")]
        for headers, body, reason in cases:
            with self.assertRaises(amqp.BrokerError) as e:
                amqp.decodeDelivery(headers, body, 1)
            self.assertIn(reason, str(e.exception))

    def test_messageIdIsTheKey(self):
        self.assertEqual(amqp.messageId("web01", "/var/log/messages", 5),
                         "web01|/var/log/messages|5")

    def test_quorumByDefault(self):
        target = amqp.BrokerTarget(amqp.parseAmqpUrl("amqp://mq"), "q")
        self.assertEqual(target.queueArguments(), {"x-queue-type": "quorum"})


class AfterChannelErrorTests(SynchronousTestCase):
    """
    L{amqp.afterChannelError}: what a client does once the broker ended its
    channel or cancelled its consumer, code by code, and the backoff.
    """

    def test_channelErrorsReopen(self):
        """
        Every channel-level code (a queue deleted under a publisher: 312; a
        permission: 403; no such queue or exchange: 404; a queue used
        exclusively: 405; an unknown delivery tag or other queue arguments:
        406) opens a new channel after 0.5 s, the broker's text in the
        reason once.
        """
        for code, name in [(311, "CONTENT_TOO_LARGE"), (312, "NO_ROUTE"),
                           (313, "NO_CONSUMERS"), (403, "ACCESS_REFUSED"),
                           (404, "NOT_FOUND"), (405, "RESOURCE_LOCKED"),
                           (406, "PRECONDITION_FAILED")]:
            plan = amqp.afterChannelError(code, f"{name} - what the broker says", 0)
            self.assertEqual(plan, amqp.ChannelPlan(
                amqp.REOPEN, 0.5, f"{code} {name} - what the broker says"), code)

    def test_queueTypeMismatchAdvised(self):
        """
        A queue declared with another type than the broker's (RabbitMQ's own
        text): the reason says which setting to make agree, and the client
        still tries again with the backoff.
        """
        text = ("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue"
                " 'rawlog' in vhost '/': received 'quorum' but current is 'classic'")
        plan = amqp.afterChannelError(406, text, 2)
        self.assertEqual(plan.action, amqp.REOPEN)
        self.assertEqual(plan.delay, 2.0)
        self.assertEqual(plan.reason, "406 PRECONDITION_FAILED - inequivalent arg"
                         " 'x-queue-type' for queue 'rawlog' in vhost '/': received"
                         " 'quorum' but current is 'classic'" + amqp.QUEUE_TYPE_ADVICE)
        self.assertIn("QUEUE_TYPE", plan.reason)
        other = amqp.afterChannelError(406, "PRECONDITION_FAILED - unknown delivery tag 1", 0)
        self.assertNotIn("QUEUE_TYPE", other.reason)

    def test_consumerCancelled(self):
        plan = amqp.afterChannelError(amqp.CONSUMER_CANCELLED, "", 0)
        self.assertEqual(plan, amqp.ChannelPlan(
            amqp.REOPEN, 0.5, "consumer cancelled by the broker (basic.cancel)"))

    def test_nacked(self):
        """
        A batch the broker nacked (no code): a new channel, the text said.
        """
        self.assertEqual(amqp.afterChannelError(None, "batch 3 nacked", 0),
                         amqp.ChannelPlan(amqp.REOPEN, 0.5, "batch 3 nacked"))

    def test_unknownCode(self):
        self.assertEqual(amqp.afterChannelError(499, "odd", 1),
                         amqp.ChannelPlan(amqp.REOPEN, 1.0, "499 unknown reply code - odd"))

    def test_connectionErrorsReconnect(self):
        """
        A code that ends the connection is the reconnect's business.
        """
        for code in (320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541):
            plan = amqp.afterChannelError(code, "CONNECTION_FORCED - shutdown", 3)
            self.assertEqual((plan.action, plan.delay), (amqp.RECONNECT, 0.0), code)

    def test_closedByClient(self):
        self.assertEqual(amqp.afterChannelError(amqp.CLOSED_BY_CLIENT, "Normal shutdown", 0),
                         amqp.ChannelPlan(amqp.IGNORE, 0.0,
                                          "closed by this client (Normal shutdown)"))

    def test_backoff(self):
        """
        0.5 s doubling with every channel ended in a row, up to 30 s.
        """
        self.assertEqual([amqp.afterChannelError(404, "x", n).delay for n in range(9)],
                         [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0])
        self.assertEqual(amqp.afterChannelError(404, "x", 10 ** 6).delay, 30.0)
