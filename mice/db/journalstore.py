# -*- test-case-name: tests.integration.test_journal -*-
"""
The reaction journal's database (L{mice.db.journal}) through an adbapi
connection pool: what the act_generic post-processor and the reaction
queues share.
"""

from mice.db import journal
from mice.db.pools import PooledStore, sharedConnectionPool


class JournalStore(PooledStore):
    """
    @ivar description: where the journal is (a password-free URL), for logs.
    """

    def prepare(self, txn):
        """Create the tables."""
        journal.createJournal(txn, self.dialect)

    def _run(self, function, *args):
        return self.start().addCallback(
            lambda _: self.pool.runInteraction(function, self.dialect, *args))

    def journalAlerts(self, alerts, jobs, heartbeats=(), inline=None, correlation=None,
                      known=None):
        """L{mice.db.journal.journalAlerts}: fires with the new alerts' keys."""
        return self._run(journal.journalAlerts, alerts, jobs, heartbeats, inline, correlation,
                         known)

    def knownAlerts(self, keys):
        """L{mice.db.journal.knownAlerts}: fires with the set of C{keys} journaled."""
        return self._run(journal.knownAlerts, keys)

    def loadCorrelationState(self, name):
        """L{mice.db.journal.loadCorrelationState}."""
        return self._run(journal.loadCorrelationState, name)

    def recordOutcomes(self, rows):
        return self._run(journal.recordOutcomes, rows)

    alertEntry = False
    """Whether some documents are in this database's C{alert_entry} only
    (L{mice.db.journal.pendingJobs}); set by the ManagementHost's builder."""

    def pendingJobs(self, pipe, afterId=0, limit=1000):
        return self._run(journal.pendingJobs, pipe, afterId, limit, self.alertEntry)

    def pendingPipes(self):
        return self._run(journal.pendingPipes)


def openJournal(url, reactor):
    """
    The L{JournalStore} of a database URL (a L{mice.config.DatabaseUrl}),
    on the process's shared pool for it.
    """
    pool, dialect, release = sharedConnectionPool(url, reactor)
    return JournalStore(pool, dialect, url.redacted(), release)
