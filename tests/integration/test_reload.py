"""
An analysis agent run by twistd, reloaded by SIGHUP while lines flow in
from C{mice send}: no record lost, no connection dropped, the new rule in
effect after; a bad rule file refused with its line named, the old rules
kept.  (The reload logic with a Clock: C{tests.unit.services.test_reload}.)
"""

import os
import signal

from twisted.trial.unittest import TestCase

from mice.postproc.aaregex import MATCHES_PER_LINE
from mice.testing import writeAgentConfigs
from tests.integration.processes import shipThrough
from tests.integration.test_agent import memoryManagementHost
from tests.integration.test_faults import freePort, waitFor

FAILED = ("Nov 22 10:00:01 web01 sshd[811]: Failed password for alice from 10.0.0.7"
          " port 52311 ssh2 RELOADED-RULE #{n}")
NEW_RULE = 'Ex_Rule = ".*RELOADED-RULE.*"\n'
LINES = 40000


def addRule(path, text):
    with open(path) as f:
        conf = f.read()
    with open(path, "w") as f:
        f.write(conf.replace("[EXPLOIT]\n", "[EXPLOIT]\n" + text, 1))


def readLog(path):
    with open(path, errors="replace") as f:
        return f.read()


class SighupUnderLoadTests(TestCase):
    timeout = 180

    async def test_reloadUnderLoad(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        received, port = await memoryManagementHost(self, ringSize=256)
        agentPort = freePort()
        conf = writeAgentConfigs(os.path.join(directory, "agent"), port.getHost().port,
                                 port=agentPort, mmSize=4)
        rules = os.path.join(directory, "agent", "aa.conf")
        corpus = os.path.join(directory, "corpus.log")
        with open(corpus, "w") as f:
            f.write("".join(FAILED.format(n=n) + "\n" for n in range(1, LINES + 1)))
        shipping = await shipThrough(self, directory, conf, agentPort, corpus,
                                     daemonLog="agent.log")
        daemonLog = os.path.join(directory, "agent.log")
        agent, sender = shipping.daemon, shipping.sender

        def seqs(index):
            return {r.seq // MATCHES_PER_LINE for r in received.stored
                    if r.seq % MATCHES_PER_LINE == index}

        # AuF (index 0) and Ap_Name (1) for every line; Ex (2) once reloaded.
        await waitFor(lambda: len(seqs(0)) > 2000, 60, "the first alerts")
        addRule(rules, NEW_RULE)
        # A ring of 4 batches: mice send is held back by the analysis, so
        # lines are still flowing in when the signal comes.
        self.assertIsNone(sender.poll(), "mice send is still sending")
        agent.send_signal(signal.SIGHUP)
        await waitFor(lambda: "reloaded (" in readLog(daemonLog), 30, "the reload")
        self.assertLess(len(seqs(0)), LINES, "the reload came too late to mean anything")

        # A bad rule: refused with its line, the old rules (with the new one) kept.
        addRule(rules, 'Ex_Rule = ".*(unclosed.*"\n')
        agent.send_signal(signal.SIGHUP)
        await waitFor(lambda: "not reloaded" in readLog(daemonLog), 30, "the refusal")
        await waitFor(lambda: sender.poll() is not None, 150, "mice send to finish")
        self.assertEqual(sender.returncode, 0)
        await waitFor(lambda: len(seqs(0)) == LINES, 60, "every line's alert")

        everyLine = set(range(1, LINES + 1))
        self.assertEqual((seqs(0), seqs(1)), (everyLine, everyLine), "no record lost")
        reloaded = sorted(seqs(2))
        self.assertTrue(reloaded, "the new rule is in effect")
        self.assertEqual(reloaded, list(range(reloaded[0], LINES + 1)),
                         "every line from the reload on raises the new rule's alert")
        self.assertGreater(reloaded[0], 1)

        # mice send has exited, but the agent logs its link closed when its
        # reactor reads the end of the connection: under load, after the
        # last alert was stored (the read above found no such line once).
        await waitFor(lambda: ") closed" in readLog(daemonLog), 30, "the link's end logged")
        text = readLog(daemonLog)
        self.assertEqual(text.count(", kind log"), 1, "one connection, never dropped")
        self.assertLess(text.index("reloaded ("), text.index("(source "),
                        "reloaded while the link was open")
        self.assertIn(f"{rules}:", text.split("not reloaded")[0].rsplit("reloaded (", 1)[1])
        agent.send_signal(signal.SIGTERM)
        await waitFor(lambda: agent.poll() is not None, 30, "the agent to stop")
        # twistd ends by the signal it was stopped with, once shut down.
        self.assertIn("Server Shut Down.", readLog(daemonLog))
        self.assertNotIn("Traceback", readLog(daemonLog))
