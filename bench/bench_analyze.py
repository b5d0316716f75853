#!/usr/bin/env python
"""
Measure the M-ICE rule engine (L{mice.analysis.aaregex}): lines per second of
C{mice analyze}'s core -- matching every line, and building the L{Alert} of
every match -- and peak RSS.

    python bench/bench_analyze.py [--lines 1000000] [--corpus corpus.log]
        [--rules seed|200|both] [--strategy literal|alternation|contains|hyperscan|all]
        [--batch 32768] [--cli] [--agent RECORDS]
    python bench/bench_analyze.py --whole [--corpus corpus.log | --lines 1000000]
        [--baseline CHECKOUT [--rounds 3]]

C{--whole} times the whole C{mice analyze FILE --json} process with the
default content (the M-ICE rules, the LogIDS rules and the correlation
rules: what mice-allinone runs), checks that the pure-Python scan prints
the same bytes, and runs prelude-lml (stock rules, batch mode, no manager)
and fail2ban-regex (sshd filter) beside it on the file's first 200,000
lines, printing the ratio of lines per CPU second.  A corpus with its
labels (C{gendetection.py}'s C{FILE.truth}) is also timed as three mixes
of its lines: the benign ones alone, the attack ones alone, and one
attack line in a hundred (L{runMixes}).  With C{--baseline}
(a checkout of other code, such as main's: C{git worktree add /tmp/base
main}), it runs that code's C{mice analyze} and this one's in turn,
C{--rounds} times each, and prints the CPU time of each run, the ratio
of the medians and whether the outputs (C{--json}, and the listing) are
the same bytes; nothing else.

The lines come from C{bench/gencorpus.py} (seed 1) unless C{--corpus} names
a file.  C{--rules seed} is C{etc/mice/mice_mod_pop_aa_regex.conf};
C{--rules 200} a generated config of 200 realistic patterns (literals,
alternations, character classes, a few C{.*} joins) over the same rule keys
(L{ruleSet200}).  Each strategy's per-rule results are checked against the
default one's.  C{--cli} also times the real C{mice analyze --json} on the
corpus file, end to end (reading, decoding, extraction, JSON).  C{--agent
N} measures alerts per second through the running agent's post-processor
(L{AaRegexAnalyzer.process}: matching, L{makeAlert}, the IDMEF document,
the link batches; a fake sender acknowledges everything) on the first N
records, in wall and CPU time.
"""

import argparse
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from _common import corpusLines, driveAgent, measureChild  # noqa: E402
from gencorpus import generate  # noqa: E402
from gendetection import NEGATIVE  # noqa: E402

from mice.analysis.aaregex import STRATEGIES, AaRegexMatcher, makeAlert  # noqa: E402
from mice.config import loadAaRegex, loadMatchFile  # noqa: E402
from mice.record import LogRecord  # noqa: E402

SEED_CONFIG = os.path.join(ROOT, "etc", "mice", "mice_mod_pop_aa_regex.conf")
MATCH_FILE = os.path.join(ROOT, "etc", "mice", "matchfiles", "match_file_aa_regex.txt")

# Messages worth an alert, as the rule sets of OSSEC, fail2ban and
# logcheck write them, grouped by the rule key they would go under.
_BASE = {
    "AuS_Rule": [
        r"Accepted (?:password|publickey) for \S+ from",
        r"session opened for user root by",
        r"sshd\[\d+\]: Accepted keyboard-interactive/pam for",
        r"su\[\d+\]: pam_unix\(su:session\): session opened for user root",
        r"\(to root\) \w+ on /dev/pts/\d+",
        r"sudo: +\w+ : TTY=\S+ ; PWD=\S+ ; USER=root ; COMMAND=",
        r"New session \d+ of user \w+",
        r"login\[\d+\]: ROOT LOGIN  on",
    ],
    "AuF_Rule": [
        r"Failed (?:password|publickey|none) for (?:invalid user )?\S+ from",
        r"[Ii]nvalid user \S+ from [0-9.]+",
        r"authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S+ ruser=\S* rhost=",
        r"Did not receive identification string from",
        r"POSSIBLE BREAK-IN ATTEMPT!",
        r"error: PAM: Authentication failure for",
        r"Received disconnect from [0-9.]+: 11: Bye Bye \[preauth\]",
        r"User \S+ from \S+ not allowed because not listed in AllowUsers",
        r"reverse mapping checking getaddrinfo for \S+ failed",
        r"maximum authentication attempts exceeded for",
        r"FAILED SU \(to root\)",
        r"incorrect password attempts",
        r"SASL (?:LOGIN|PLAIN) authentication failed",
        r"imapd\[\d+\]: Login failed",
        r"pam_unix\(\w+:auth\): authentication failure",
        r"Connection closed by [0-9.]+ port \d+ \[preauth\]",
        r"refused connect from \S+",
        r"ROOT LOGIN REFUSED (?:FROM|ON)",
    ],
    "RoW_Rule": [
        r"type=SYSCALL .* success=yes .* uid=0 .* key=\"(?:shadow|passwd|sudoers)\"",
        r"name=\"/etc/(?:shadow|sudoers|ssh/sshd_config)\" .*nametype=(?:CREATE|NORMAL)",
        r"FILE_open\] open\(\"/etc/[a-z]+\", O_(?:WRONLY|RDWR)",
    ],
    "RoO_Rule": [
        r"syscall=(?:2|257) success=yes .* uid=0 ",
        r"\[FILE_open\] open\(\"/var/log/audit\.d/",
    ],
    "RoR_Rule": [
        r"COMMAND=/bin/cat /etc/shadow",
        r"comm=\"cat\" exe=\"/bin/cat\" key=\"shadow\"",
    ],
    "RoS_Rule": [
        r"sshd\[\d+\]: Server listening on [0-9.:]+ port \d+",
        r"kernel: .*device eth\d entered promiscuous mode",
    ],
    "RoE_Rule": [
        r"syscall=59 success=yes .* uid=0 .* exe=\"/tmp/",
        r"\[PROC_execute\] execve\(\"/(?:tmp|dev/shm)/",
        r"COMMAND=/bin/(?:ba)?sh$",
        r"exe=\"/tmp/\.x/kit\"",
    ],
    "ReF_Rule": [
        r"syscall=(?:2|257) success=no exit=-13",
        r"FILE_open\] open\(.*\);result=-13",
    ],
    "WrF_Rule": [
        r"syscall=87 success=no",
        r"FILE_unlink\] unlink\(\"[^\"]+\"\); result=-(?:1|13)",
    ],
    "Ap_Name": [
        r"sshd\[\d+\]:",
        r"postfix/smtpd\[\d+\]: connect from unknown\[",
        r"crond?\[\d+\]: \(root\) CMD \(",
        r"audispd: node=\S+ type=SYSCALL",
    ],
    "Ex_Rule": [
        r"crc32 compensation attack: network attack detected",
        r"GET /scripts/root\.exe\?/c\+dir",
        r"\"GET /(?:\.\./)+etc/passwd",
        r"Invalid URI in request GET /\.\./",
        r"File does not exist: \S+/(?:cmd|root)\.exe",
        r"\"GET /(?:phpmyadmin|pma|myadmin|mysqladmin)/",
        r"\"(?:GET|POST) /wp-login\.php",
        r"\"GET /cgi-bin/(?:awstats|formmail|php)\.",
        r"client denied by server configuration: \S+/\.ht",
        r"RECV: 163129 bytes of data, 0 total lines",
        r"REMOTE TSI ?%",
        r"segfault at [0-9a-f]+ ip [0-9a-f]+ sp [0-9a-f]+ error \d",
        r"\x90{20}",
        r"(?:%u9090|%uC0C0){2,}",
        r"default\.ida\?N{10}",
        r"Relay access denied; from=<spam@",
        r"\"[A-Z]+ \S*(?:<script|%3Cscript)",
        r"\"GET \S*(?:union(?:\+|%20)select|select(?:\+|%20)\S+(?:\+|%20)from)",
        r"/etc/passwd HTTP/1\.[01]\" 200",
    ],
    "FwD_Rule": [
        r"SuSE-FW-DROP(?:-DEFAULT|-ANTI-SPOOF)? IN=\S+",
        r"kernel: .*DROP:IN=\S+ OUT=",
        r"SRC=\S+ DST=10\.\d+\.\d+\.\d+ .*PROTO=TCP .*DPT=(?:23|135|139|445|1433|3389) ",
        r"PROTO=UDP SPT=\d+ DPT=(?:137|161|1434) ",
        r"PROTO=ICMP TYPE=8 CODE=0",
    ],
    "FwR_Rule": [
        r"REJECT IN=\S+ OUT=",
        r"SuSE-FW-UNAUTHORIZED-TARGET",
    ],
    "FwA_Rule": [
        r"SuSE-FW-ACCEPT IN=",
        r"iptables-in IN=eth\d ",
    ],
    "FwI_Rule": [
        r"SuSE-FW-ILLEGAL-(?:TARGET|PACKET)",
        r"IN=eth\d OUT=\S* .* SRC=(?:127\.|0\.|10\.)\S* DST=\S+ .*TTL=1 ",
    ],
}

_SECTIONS = (
    ("AUTH", "AuSendTo", "M", ("AuS_Rule", "AuF_Rule")),
    ("ROOT", "RoSendTo", "M", ("RoW_Rule", "RoO_Rule", "RoR_Rule", "RoS_Rule", "RoE_Rule")),
    ("READ", "ReSendTo", "M", ("ReS_Rule", "ReF_Rule")),
    ("WRITE", "WrSendTo", "M", ("WrS_Rule", "WrF_Rule")),
    ("APPS", "ApSendTo", "M", ("Ap_Name",)),
    ("EXPLOIT", "ExSendTo", "M", ("Ex_Rule",)),
    ("FIREWALL", "FwSendTo", "M", ("FwD_Rule", "FwR_Rule", "FwA_Rule", "FwI_Rule")),
)

# Programs and words that turn one signature into a site's variants of it:
# the same message from other daemons, as rule sets grow in practice.
_VARIANTS = ("vsftpd", "proftpd", "dovecot", "courier-imap", "cyrus", "pure-ftpd", "xinetd",
             "named", "squid", "openvpn", "nginx", "lighttpd", "samba", "winbindd", "slapd",
             "asterisk", "radiusd", "mysqld", "pptpd", "webmin")


def ruleSet200(count=200):
    """
    The text of a C{mice_mod_pop_aa_regex.conf} with C{count} patterns: the
    signatures above, then per-daemon variants of the authentication and
    exploit ones (C{vsftpd\\[\\d+\\]: .*authentication failure}...) until
    there are C{count}.
    """
    patterns = {key: list(values) for key, values in _BASE.items()}
    total = sum(map(len, patterns.values()))
    templates = (
        ("AuF_Rule", r"{p}\[\d+\]: .*(?:authentication failure|Login failed|auth fail)"),
        ("AuS_Rule", r"{p}\[\d+\]: (?:Login|login) (?:OK|succeeded) for user \w+"),
        ("Ex_Rule", r"{p}\[\d+\]: .*(?:buffer overflow|format string) attempt"),
        ("AuF_Rule", r"{p}: [Uu]nknown user [a-z_][a-z0-9_-]* from [0-9.]+"),
        ("Ap_Name", r"\b{p}\[\d+\]: (?:started|restarted|exiting)"),
        ("FwD_Rule", r"{p}: .*SRC=[0-9.]+ DST=[0-9.]+ .*PROTO=(?:TCP|UDP)"),
        ("RoE_Rule", r"COMMAND=/usr/s?bin/{p}\b"),
        ("Ex_Rule", r"\"(?:GET|POST) /{p}/[^\"]*\.\./"),
    )
    i = 0
    while total < count:
        key, template = templates[i % len(templates)]
        program = _VARIANTS[(i // len(templates)) % len(_VARIANTS)]
        suffix = "" if i < len(templates) * len(_VARIANTS) else str(i)
        patterns[key].append(template.format(p=program + suffix))
        total += 1
        i += 1
    out = ["[HOST_INFO]", "Management = 127.0.0.1:4455", "Encryption = no", "",
           "[IDMEF_INFO]", "AlertID = 1", ""]
    for name, sendToKey, sendTo, keys in _SECTIONS:
        out.append(f"[{name}]")
        out.append(f'{sendToKey} = "{sendTo}"')
        for key in keys:
            for pattern in patterns.get(key, ()):
                # The M-ICE dialect quotes values; a quote inside stays as is.
                out.append(f'{key} = "{pattern}"')
        out.append("")
    out += ["[DEFAULT]", 'DeSendTo = "N"', ""]
    return "\n".join(out)


def records(lines, perSecond=20):
    out = []
    for seq, line in enumerate(lines):
        second = seq // perSecond
        out.append(LogRecord("client-1", "/var/log/messages", seq, "gate", "example.org",
                             "10.0.0.1", "Linux", "2.6.5", "SuSE Linux 9.1", "2004-11-22",
                             "%02d:%02d:%02d" % (second // 3600 % 24, second // 60 % 60,
                                                 second % 60),
                             line, ""))
    return out


def peakRSS():
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def analyse(matcher, batch, descriptions, now, recs, buildAlerts=True):
    """
    The core of C{mice analyze}: match the lines batch by batch, build the
    alerts of the matches.
    @return: (results, alerts)
    """
    alerts = 0
    results = []
    counter = 1
    for first in range(0, len(recs), batch):
        chunk = recs[first:first + batch]
        matched = matcher.matchIndexed([r.logline for r in chunk])
        results.extend((first + index, matches) for index, matches in matched)
        if buildAlerts:
            for index, matches in matched:
                record = chunk[index]
                for match in matches:
                    makeAlert(record, match, counter, "MICE-RegEx", descriptions, now)
                    counter += 1
                    alerts += 1
    return results, alerts


def run(name, settings, strategies, recs, batch, descriptions):
    now = datetime(2004, 11, 22, 12, 0, 0)
    reference = None
    for strategy in strategies:
        try:
            matcher = AaRegexMatcher(settings, strategy)
        except ImportError as e:
            print(f"rules={name} strategy={strategy} skipped ({e})")
            continue
        gc.collect()
        began = time.perf_counter()
        results, _ = analyse(matcher, batch, descriptions, now, recs, buildAlerts=False)
        engine = time.perf_counter() - began
        gc.collect()
        began = time.perf_counter()
        _, alerts = analyse(matcher, batch, descriptions, now, recs)
        core = time.perf_counter() - began
        same = ""
        if reference is None:
            reference = results
        else:
            same = " same_results=" + ("yes" if results == reference else "NO")
        print(f"rules={name} patterns={sum(len(r.patterns) + len(r.idRegexes) for r in matcher.rules)}"
              f" strategy={strategy} lines={len(recs)}"
              f" engine_lines_per_second={len(recs) / engine:.0f}"
              f" lines_per_second={len(recs) / core:.0f}"
              f" alerts={alerts} alerts_per_second={alerts / core:.0f}"
              f" matched_lines={len(results)}{same}"
              f" peak_rss_mib={peakRSS():.1f}", flush=True)


def runAgent(name, settings, recs, descriptions, batch=5000, limit=200000):
    """
    Alerts per second through the running agent's post-processor
    (L{mice.postproc.aaregex.AaRegexAnalyzer.process}: matching, the alert,
    its IDMEF document, the link batches), into a L{mice.testing.FakeSender}
    that acknowledges everything, on the first C{limit} records.
    """
    from twisted.internet.task import Clock

    from mice.analysis.alertid import AlertCounter, MemoryAlertIdStore
    from mice.postproc.aaregex import AaRegexAnalyzer
    from mice.testing import FakeSender

    management, agent = FakeSender("ManagementHost"), FakeSender("next agent")
    clock = Clock()
    clock.advance(1101117600)
    analyzer = AaRegexAnalyzer(settings, {"M": management, "A": agent},
                               AlertCounter(MemoryAlertIdStore(), settings.alertId), clock,
                               descriptions)
    recs = recs[:limit]
    elapsed, cpu, _ = driveAgent(analyzer, (management, agent), recs, batch)
    print(f"agent rules={name} records={len(recs)} alerts={analyzer.alerts}"
          f" seconds={elapsed:.2f} alerts_per_second={analyzer.alerts / elapsed:.0f}"
          f" records_per_second={len(recs) / elapsed:.0f}"
          f" cpu_seconds={cpu:.2f} cpu_alerts_per_second={analyzer.alerts / cpu:.0f}", flush=True)


def runCli(configPath, corpusPath, lines):
    with open(os.devnull, "wb") as devnull:
        status, elapsed, cpu, rss = measureChild(
            [sys.executable, "-m", "mice.cli", "analyze", "-c", configPath, corpusPath,
             "--json", "--tz", "UTC"], cwd=ROOT, stdout=devnull, stderr=devnull)
    print(f"cli=mice-analyze-json config={os.path.basename(configPath)} lines={lines}"
          f" status={status} seconds={elapsed:.2f} cpu_seconds={cpu:.2f}"
          f" lines_per_second={lines / elapsed:.0f} cpu_lines_per_second={lines / cpu:.0f}"
          f" peak_rss_mib={rss / 2 ** 20:.1f}", flush=True)


#: prelude-lml's configuration for a batch run over one file with its stock
#: rules (Debian's /etc/prelude-lml/ruleset/pcre.rules), no manager.
PRELUDE_LML_CONF = """\
[format=syslog]
time-format = "%b %d %H:%M:%S"
prefix-regex = "^(?P<timestamp>.{{15}}) (?P<hostname>\\S+) (?:(?P<process>\\S+?)(?:\\[(?P<pid>[0-9]+)\\])?: )?"
file = {log}
[format=apache]
time-format = "%d/%b/%Y:%H:%M:%S"
prefix-regex = "(?P<hostname>\\S+) \\S+ \\S+ \\[(?P<timestamp>.{{20}}) [+-].{{4}}\\] "
file = {log}
[Pcre]
ruleset = /etc/prelude-lml/ruleset/pcre.rules
"""


def load():
    """The load averages, as C{uptime} prints them."""
    return "load=" + "/".join(f"{x:.2f}" for x in os.getloadavg())


def runWhole(corpus, lines, directory, others=200000):
    """
    C{mice analyze FILE --json} with the default content (both rule sets
    and the correlation rules, what mice-allinone runs), whole process:
    lines per second by wall and CPU time, peak RSS; the pure-Python scan
    gives the same bytes; then prelude-lml (stock rules, batch mode) and
    fail2ban-regex (its sshd filter) on the first C{others} lines of the
    same file, when installed, and the ratio of CPU lines per second.
    """
    import hashlib
    import shutil

    def mice(path=corpus, *options):
        out = os.path.join(directory, "out.json")
        with open(out, "wb") as f:
            status, elapsed, cpu, rss = measureChild(
                [sys.executable, "-m", "mice.cli", "analyze", path, "--json", "--tz", "UTC",
                 *options], cwd=ROOT, stdout=f, stderr=subprocess.DEVNULL)
        with open(out, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        return status, elapsed, cpu, rss, digest

    status, elapsed, cpu, rss, digest = mice()
    ours = lines / cpu
    print(f"whole=mice-analyze-default lines={lines} status={status} seconds={elapsed:.2f}"
          f" cpu_seconds={cpu:.2f} lines_per_second={lines / elapsed:.0f}"
          f" cpu_lines_per_second={ours:.0f} peak_rss_mib={rss / 2 ** 20:.1f}"
          f" output_sha256={digest} {load()}", flush=True)
    truth = corpus + ".truth"
    if os.path.exists(truth):
        runMixes(corpus, truth, lines, directory, mice)
    _, _, cpuPython, _, digestPython = mice(corpus, "--strategy", "literal")
    print(f"whole=mice-analyze-default strategy=literal cpu_seconds={cpuPython:.2f}"
          f" cpu_lines_per_second={lines / cpuPython:.0f}"
          f" same_bytes={'yes' if digestPython == digest else 'NO'} {load()}", flush=True)
    head = os.path.join(directory, "head.log")
    with open(corpus, "rb") as source, open(head, "wb") as f:
        for count, line in enumerate(source):
            if count == others:
                break
            f.write(line)
    count = min(lines, others)
    if shutil.which("prelude-lml"):
        conf = os.path.join(directory, "prelude-lml.conf")
        with open(conf, "w") as f:
            f.write(PRELUDE_LML_CONF.format(log=head))
        status, elapsed, cpu, rss = measureChild(
            ["prelude-lml", "-c", conf, "--batch-mode", "--dry-run", "--no-resolve",
             "--metadata=head,nowrite", "-q"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        print(f"other=prelude-lml lines={count} status={status} seconds={elapsed:.2f}"
              f" cpu_seconds={cpu:.2f} cpu_lines_per_second={count / cpu:.0f}"
              f" peak_rss_mib={rss / 2 ** 20:.1f} ratio_mice_to_it={ours / (count / cpu):.1f}"
              f" {load()}", flush=True)
    if shutil.which("fail2ban-regex"):
        status, elapsed, cpu, rss = measureChild(
            ["fail2ban-regex", head, "sshd"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        print(f"other=fail2ban-regex-sshd lines={count} status={status} seconds={elapsed:.2f}"
              f" cpu_seconds={cpu:.2f} cpu_lines_per_second={count / cpu:.0f}"
              f" peak_rss_mib={rss / 2 ** 20:.1f} ratio_mice_to_it={ours / (count / cpu):.1f}"
              f" {load()}", flush=True)


def runMixes(corpus, truth, lines, directory, mice):
    """
    With the corpus's labels (C{gendetection.py}'s C{.truth}): the same
    number of lines of other mixes made of its lines, in their order --
    its benign and informational lines alone (repeated to the count), its
    attack and failure lines alone (as many as it has), and the benign
    ones with one attack line in a hundred spread among them (a
    production log's share, not the bench corpus's tenth) -- each timed
    as the corpus is: what a line of each kind costs.
    """
    with open(corpus, "rb") as f:
        corpusLines = f.read().split(b"\n")[:lines]
    with open(truth, encoding="utf-8") as f:
        labels = f.read().split("\n")[:lines]
    benign = [line for line, label in zip(corpusLines, labels) if label in NEGATIVE]
    attacks = [line for line, label in zip(corpusLines, labels) if label not in NEGATIVE]
    if not benign or not attacks:
        return
    mixed = []
    for index in range(lines):
        if index % 100 == 50:
            mixed.append(attacks[(index // 100) % len(attacks)])
        else:
            mixed.append(benign[index % len(benign)])
    mixes = (("benign", (benign * (lines // len(benign) + 1))[:lines]),
             ("attacks", attacks), ("attacks-1-in-100", mixed))
    for name, chosen in mixes:
        path = os.path.join(directory, f"mix-{name}.log")
        with open(path, "wb") as f:
            f.write(b"\n".join(chosen) + b"\n")
        status, elapsed, cpu, rss, _ = mice(path)
        print(f"whole=mice-analyze-default mix={name} lines={len(chosen)} status={status}"
              f" cpu_seconds={cpu:.2f} cpu_lines_per_second={len(chosen) / cpu:.0f}"
              f" us_per_line={cpu / len(chosen) * 1e6:.1f} peak_rss_mib={rss / 2 ** 20:.1f}"
              f" {load()}", flush=True)


def runBaseline(corpus, lines, directory, baseline, rounds=3):
    """
    C{mice analyze FILE --json} with the default content, this checkout's
    and C{baseline}'s (another checkout) in turn, C{rounds} times each:
    the CPU seconds of every run, the ratio of the medians (the baseline's
    over ours: above 1, ours is quicker), and whether both print the same
    bytes, with C{--json} and without (the listing).
    """
    import hashlib
    import statistics

    def mice(root, name, *options):
        out = os.path.join(directory, f"out-{name}")
        env = dict(os.environ, PYTHONPATH=root)
        with open(out, "wb") as f:
            status, elapsed, cpu, rss = measureChild(
                [sys.executable, "-m", "mice.cli", "analyze", corpus, "--tz", "UTC", *options],
                cwd=root, stdout=f, stderr=subprocess.DEVNULL, env=env)
        with open(out, "rb") as f:
            # The LogIDS rules are named by their file's path, in the checkout.
            text = f.read().replace(os.path.join(root, "mice").encode(), b"mice")
        return status, cpu, rss, hashlib.sha256(text).hexdigest()[:16]

    baseline = os.path.abspath(baseline)
    cpus = {"ours": [], "baseline": []}
    digests = {"ours": set(), "baseline": set()}
    for number in range(rounds):
        for name, root in (("baseline", baseline), ("ours", ROOT)):
            status, cpu, rss, digest = mice(root, name, "--json")
            cpus[name].append(cpu)
            digests[name].add(digest)
            print(f"baseline_run={number + 1} code={name} root={root} status={status}"
                  f" cpu_seconds={cpu:.2f} cpu_lines_per_second={lines / cpu:.0f}"
                  f" peak_rss_mib={rss / 2 ** 20:.1f} output_sha256={digest} {load()}",
                  flush=True)
    listing = {name: mice(root, name + "-listing")[3]
               for name, root in (("baseline", baseline), ("ours", ROOT))}
    ours, theirs = statistics.median(cpus["ours"]), statistics.median(cpus["baseline"])
    same = len(digests["ours"] | digests["baseline"]) == 1
    print(f"baseline=summary lines={lines} rounds={rounds} ours_cpu_median={ours:.2f}"
          f" baseline_cpu_median={theirs:.2f} ours_cpu_lines_per_second={lines / ours:.0f}"
          f" baseline_cpu_lines_per_second={lines / theirs:.0f}"
          f" cpu_ratio_baseline_to_ours={theirs / ours:.3f}"
          f" same_json_bytes={'yes' if same else 'NO'}"
          f" same_listing_bytes={'yes' if listing['ours'] == listing['baseline'] else 'NO'}"
          f" {load()}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--corpus", help="a log file (default: gencorpus, seed 1)")
    parser.add_argument("--rules", choices=("seed", "200", "both"), default="both")
    parser.add_argument("--strategy", choices=STRATEGIES + ("all",), default="literal")
    parser.add_argument("--batch", type=int, default=32768)
    parser.add_argument("--cli", action="store_true",
                        help="also time the mice analyze --json command")
    parser.add_argument("--whole", action="store_true",
                        help="only time mice analyze with the default content (both rule"
                             " sets and correlation) as a process, beside prelude-lml and"
                             " fail2ban-regex")
    parser.add_argument("--agent", type=int, default=0, metavar="RECORDS",
                        help="also measure alerts per second through the agent's"
                             " post-processor, on this many records")
    parser.add_argument("--baseline", metavar="CHECKOUT",
                        help="with --whole: time this checkout's mice analyze against"
                             " CHECKOUT's (main's, say), in turn, and compare their output")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --baseline: runs of each (default 3)")
    options = parser.parse_args(argv)
    if options.baseline and not options.whole:
        parser.error("--baseline goes with --whole")

    if options.whole:
        with tempfile.TemporaryDirectory() as directory:
            corpus = options.corpus
            if corpus is None:
                corpus = os.path.join(directory, "corpus.log")
                with open(corpus, "w", encoding="utf-8") as f:
                    for line in generate(options.lines, 1):
                        f.write(line + "\n")
            with open(corpus, "rb") as f:
                lines = sum(1 for _ in f)
            if options.baseline:
                runBaseline(corpus, lines, directory, options.baseline, options.rounds)
            else:
                runWhole(corpus, lines, directory)
        return
    if options.corpus:
        lines = corpusLines(options.corpus, options.lines)
    else:
        lines = list(generate(options.lines, 1))
    recs = records(lines)
    descriptions = {aid: d for aid, d in loadMatchFile(MATCH_FILE).alerts}
    strategies = STRATEGIES if options.strategy == "all" else (options.strategy,)
    with tempfile.TemporaryDirectory() as directory:
        configs = []
        if options.rules in ("seed", "both"):
            configs.append(("seed", SEED_CONFIG))
        if options.rules in ("200", "both"):
            path = os.path.join(directory, "rules200.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write(ruleSet200())
            configs.append(("200", path))
        for name, path in configs:
            run(name, loadAaRegex(path), strategies, recs, options.batch, descriptions)
            if options.agent:
                runAgent(name, loadAaRegex(path), recs, descriptions, limit=options.agent)
        if options.cli:
            corpus = options.corpus
            if corpus is None:
                corpus = os.path.join(directory, "corpus.log")
                with open(corpus, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
            for _, path in configs:
                runCli(path, corpus, len(lines))


if __name__ == "__main__":
    main()
