"""
The console in a real browser: Debian's chromium, headless, driven by
Selenium through Debian's chromedriver (nothing downloaded: both paths are
given, and Selenium Manager is told to stay offline).

Log in, see a host pane fill as console events arrive, see a live alert
appear without a reload, search for authentication failures, lift a
countermeasure (a fake source stands where the ReactionDaemons will be),
see countermeasures applied and ended elsewhere come and go, and
check that hostile log lines render as text: no script of theirs ran
(C{window.__pwned} stays undefined) and the DOM holds their text.

Selenium's calls block (they talk HTTP to chromedriver), so they run in a
thread while the reactor serves the console.  With
C{MICE_SCREENSHOTS=docs} the screenshots are written to C{docs/}
(C{console-hosts.png}, C{console-alerts.png}); otherwise to the test's
temporary directory.
"""

import os
import shutil

from twisted.internet import reactor
from twisted.internet.threads import deferToThreadPool
from twisted.trial.unittest import SkipTest, TestCase

import tests
from mice.testing import FakeCountermeasures, consoleAlertRow, consoleEventRow
from tests.integration.test_console import (
    COUNTERMEASURE,
    PASSWORD,
    Console,
    addRows,
    until,
    writeDatabase,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage", "--window-size=1400,900")
HOSTILE_LINE = '<img src=x onerror=window.__pwned=1> "><img src=x onerror=window.__pwned=2>'
HOSTILE_SCRIPT = "<script>window.__pwned=3</script> javascript:window.__pwned=4"


def browserOrSkip():
    """
    A headless chromium WebDriver, or SkipTest when chromium is not
    installed (a failure in CI, where .ci/run installs it).
    """
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if missing:
        reason = f"no browser for the console test: {', '.join(missing)} missing" \
                 " (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            raise AssertionError(reason)
        raise SkipTest(reason)
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


class ConsoleBrowserTests(TestCase):
    timeout = 180

    def blocking(self, function, *args):
        return deferToThreadPool(reactor, self.pool, function, *args)

    async def setUp(self):
        from twisted.python.threadpool import ThreadPool

        self.pool = ThreadPool(minthreads=1, maxthreads=1, name="selenium")
        self.pool.start()
        self.addCleanup(self.pool.stop)
        self.driver = await self.blocking(browserOrSkip)
        self.addCleanup(lambda: self.blocking(self.driver.quit))

    def screenshot(self, name):
        target = os.path.join(os.path.abspath(self.mktemp()) + "-" + name)
        self.driver.save_screenshot(target)
        if os.environ.get("MICE_SCREENSHOTS") == "docs":
            shutil.copyfile(target, os.path.join(tests.ROOT, "docs", name))
        return target

    async def waitFor(self, script, seconds=15):
        """Wait until C{script} (returning a boolean) is true in the page."""
        for _ in range(int(seconds / 0.1)):
            if await self.blocking(self.driver.execute_script, script):
                return
            await until(lambda: True, 0.1)
            from twisted.internet.task import deferLater

            await deferLater(reactor, 0.1, lambda: None)
        text = await self.blocking(self.driver.execute_script,
                                   "return document.body.innerText")
        raise AssertionError(f"timed out waiting for: {script}\npage: {text[:2000]}")

    async def test_console(self):
        directory = self.mktemp()
        os.makedirs(directory)
        path = os.path.join(directory, "alerts.db")
        alerts = [consoleAlertRow(i, when=f"2026-11-22T10:00:{i:02d}", source="192.0.2.7",
                                  sourceUser="root", severity="high",
                                  line=f"sshd[{i}]: Failed password for root from 192.0.2.7")
                  for i in range(1, 4)]
        alerts.append(consoleAlertRow(4, alertId=0x1010, classification="Authentication"
                                      " success", when="2026-11-22T10:00:04",
                                      line=HOSTILE_SCRIPT, severity="info"))
        events = [consoleEventRow(1, fields=(("user", "root"), ("message", "session opened"))),
                  consoleEventRow(2, fields=(("message", HOSTILE_LINE),)),
                  consoleEventRow(3, action="drop", fields=(), line=HOSTILE_SCRIPT)]
        writeDatabase(path, alerts, events)
        countermeasures = FakeCountermeasures([COUNTERMEASURE])
        console = await Console(self, path, countermeasures=countermeasures).start()
        driver = self.driver
        from selenium.webdriver.common.by import By

        # Log in.
        await self.blocking(driver.get, console.base + "/")
        await self.waitFor("return location.pathname === '/login'")
        await self.blocking(lambda: driver.find_element(By.ID, "user").send_keys("admin"))
        await self.blocking(lambda: driver.find_element(By.ID, "password").send_keys(PASSWORD))
        await self.blocking(lambda: driver.find_element(By.ID, "login-button").click())
        await self.waitFor("return location.pathname === '/' &&"
                           " document.querySelector('.pane[data-host=\"web01\"]') !== null")
        await self.waitFor("return document.getElementById('live').textContent === 'live'")

        # Hostile lines are text: in the DOM, and nothing of theirs ran.
        paneText = await self.blocking(driver.execute_script,
                                       "return document.querySelector('.pane').textContent")
        self.assertIn(HOSTILE_LINE, paneText)
        self.assertTrue(await self.blocking(driver.execute_script, """
            return window.__pwned === undefined
                && document.querySelectorAll('img[src="x"], script:not([src])').length === 0"""))

        # A host pane fills as lines arrive, without a reload.
        await self.blocking(driver.execute_script, "window.__sameDocument = true")
        addRows(path, events=[consoleEventRow(10, loghost="db01", ip="10.0.0.9",
                                              fields=(("message", "db01 is up"),)),
                              consoleEventRow(11, loghost="db01", ip="10.0.0.9",
                                              fields=(("message", "second line"),))])
        await self.waitFor("const p = document.querySelector('.pane[data-host=\"db01\"]');"
                           " return p !== null && p.textContent.includes('second line')")

        # A live alert appears, with its cue, without a reload.
        addRows(path, alerts=[consoleAlertRow(20, when="2026-11-22T11:11:11",
                                              source="198.51.100.9", target="10.0.0.9",
                                              severity="high",
                                              line="sshd[9]: Failed password for admin")])
        await self.waitFor("const p = document.querySelector('.pane[data-host=\"db01\"]');"
                           " return p.textContent.includes('Authentication failure')")
        await self.waitFor("const r = document.querySelector('#alerts tbody tr');"
                           " return r !== null && r.textContent.includes('198.51.100.9')")
        self.assertTrue(await self.blocking(driver.execute_script,
                                            "return window.__sameDocument === true"))
        self.screenshot("console-hosts.png")

        # The seed's example: authentication failures, one click.
        await self.blocking(lambda: driver.find_element(
            By.CSS_SELECTOR, '.tab[data-tab="alerts"]').click())
        await self.blocking(lambda: driver.find_element(By.ID, "auth-failures").click())
        await self.waitFor("const rows = document.querySelectorAll('#alerts tbody tr');"
                           " return rows.length === 4 && Array.from(rows).every("
                           "r => r.children[1].textContent === '0x1020')")
        await self.blocking(lambda: driver.find_element(By.ID, "all-records").click())
        await self.waitFor("return document.querySelectorAll('#alerts tbody tr').length === 5")
        hostile = await self.blocking(driver.execute_script, """
            return Array.from(document.querySelectorAll('#alerts td.logline'))
                .map(td => td.textContent)""")
        self.assertIn(HOSTILE_SCRIPT, hostile)
        await self.blocking(lambda: driver.find_element(
            By.CSS_SELECTOR, "#alerts tbody tr").click())
        await self.waitFor("return document.getElementById('detail-idmef')"
                           ".textContent.includes('IDMEF-Message')")
        self.screenshot("console-alerts.png")

        # The console log shows the dropped hostile record as text.
        await self.blocking(lambda: driver.find_element(
            By.CSS_SELECTOR, '.tab[data-tab="consolelog"]').click())
        await self.waitFor("return document.querySelector('#log tbody').textContent"
                           ".includes('<script>window.__pwned=3</script>')")

        # Lift a countermeasure.
        await self.blocking(lambda: driver.find_element(
            By.CSS_SELECTOR, '.tab[data-tab="countermeasures"]').click())
        await self.waitFor("return document.querySelectorAll('#countermeasures tbody tr')"
                           ".length === 1")
        await self.blocking(lambda: driver.find_element(
            By.CSS_SELECTOR, "#countermeasures button.lift").click())
        await self.waitFor("return document.getElementById('lift-message').textContent"
                           ".startsWith('Lifted cm-1')")
        await self.waitFor("return document.querySelectorAll('#countermeasures tbody tr')"
                           ".length === 0")
        self.assertEqual(countermeasures.lifted,
                         [("rd-web01", "cm-1", "console:admin", "lifted from the console")])

        # Applied and ended outside the console (reaction 4, an expiry,
        # mice react --undo): the list follows without a reload.
        countermeasures.countermeasures.append(dict(COUNTERMEASURE, id="cm-2"))
        await self.waitFor("const r = document.querySelectorAll('#countermeasures tbody tr');"
                           " return r.length === 1 && r[0].textContent.includes('cm-2')")
        countermeasures.countermeasures.clear()
        await self.waitFor("return document.querySelectorAll('#countermeasures tbody tr')"
                           ".length === 0")
        self.assertTrue(await self.blocking(driver.execute_script,
                                            "return window.__sameDocument === true"))
        self.assertTrue(await self.blocking(driver.execute_script,
                                            "return window.__pwned === undefined"))
        logs = await self.blocking(driver.get_log, "browser")
        self.assertEqual([entry for entry in logs if "Content Security Policy" in
                          entry.get("message", "")], [])
