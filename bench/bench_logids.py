#!/usr/bin/env python
"""
Measure the LogIDS rule engine (L{mice.analysis.logids}): lines per second of the
engine in-process and of C{mice analyze --rules ... --json}, and peak RSS.

    python bench/bench_logids.py [--lines 1000000] [--seed 1] [--extra-rules 100]
        [--netdef etc/mice/logids/netdef.txt] [--no-cli | --no-engine] [--keep DIR]
        [--compare-filters OLD_FILTER.txt]

The corpus (written to a file, in chunks) is C{bench/gencorpus.py}'s mix
(sshd, su, sudo, netfilter, auditd, LAuS, Apache access and error, cron,
postfix) with ZoneAlarm lines through syslog (some from hosts that log by
address), antivirus CSV lines and Snort lines mixed in, deterministically
for C{--seed}.  Against the shipped C{etc/mice/logids/filter.txt} about a
third of the lines are selected by no block: LAuS, Apache errors, cron,
postfix, Snort, and the antivirus lines too, since the Antivirus block
selects by file name (C{antivirus*.log}) and the corpus is one file.  A
second, small file C{antivirus-1.log} (C{--lines} / 50 lines) exercises the
Antivirus block; its figures are printed on their own line.

The rules are the seed's example (C{etc/mice/logids/rules.txt}) and
C{--extra-rules} generated ones (L{extraRules}): C{eq}/C{ne} with C{*} and IP
wildcards, numeric compares, C{ct}/C{nc} regexes, AND/OR chains, every action
kind, on every application of the filter file.

  - C{engine}: the engine in-process, as C{mice analyze} drives it (the
    syslog header's host as C{ip}/C{hostname}, L{LogIdsEngine.recordFor}
    then L{LogIdsEngine.evaluate} per line), lines per second by this
    process's CPU time, reading the file excluded.  C{engine_batch} is the
    same through L{LogIdsEngine.analyseLines}, and C{engine_actions}
    through L{LogIdsEngine.actions} (what C{mice analyze} uses: the actions
    without the records), when the engine has them.
  - C{cli}: C{mice analyze --rules RULES --filters FILTERS FILE --json}
    as a child process, output to C{/dev/null}: lines per second by wall
    time and by the child's CPU time (user + system), its peak RSS.

The machine may be shared: the CPU-time figures are the ones to compare.

C{--compare-filters OLD} checks that the filters (C{--filters}) select the
lines of the corpus and of the antivirus file that C{OLD} selects, with the
same fields: for every line, the same application and the same C{(name,
value)} pairs in the same order (C{compare=filters ... differences=0});
the exit status is 1 if a line differs.  That is how a cheaper regex in
C{filter.txt} is shown to change nothing.
"""

import argparse
import gc
import os
import random
import re
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from _common import measureChild  # noqa: E402
from gencorpus import generate, writeCorpus  # noqa: E402

from mice.analysis.logids import (  # noqa: E402
    LogIdsEngine,
    isAddress,
    loadFiles,
    loadFilters,
    syslogHost,
)
from mice.analysis.offline import readLines as _readLines  # noqa: E402

ETC = os.path.join(ROOT, "etc", "mice", "logids")
SEED_RULES = os.path.join(ETC, "rules.txt")
FILTERS = os.path.join(ETC, "filter.txt")

_SYSLOG_STAMP = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ")
_USERS = ("root", "alice", "bob", "carol", "dave", "eve", "mallory", "thomas", "backup")
_HOSTS = ("ws17", "ws23", "laptop3", "10.0.0.17", "10.0.0.42", "192.168.1.20", "172.16.4.2")
_VIRUSES = ("EICAR-Test-File", "W32.Netsky.P", "W32.Sasser.B", "Trojan.Downloader", "JS.Fortnight")
_AV_MESSAGES = ("infected", "infected", "cleaned", "quarantined", "scan started", "scan finished",
                "update")
_FILES = (r"C:\temp\eicar.com", r"C:\Documents and Settings\alice\Local Settings\Temp\x.exe",
          r"D:\mail\inbox.dbx", r"C:\WINDOWS\system32\drivers\etc\hosts")


def antivirusLine(rnd, stamp):
    day, hms = "2004/11/22", stamp[7:15] if stamp else "10:00:00"
    return ",".join((day, hms, rnd.choice(_USERS), rnd.choice(_AV_MESSAGES),
                     rnd.choice(_VIRUSES), rnd.choice(_FILES)))


def corpus(n, seed=1):
    """
    C{n} lines: gencorpus's (seed C{seed}) with ZoneAlarm (4%), antivirus
    (2%) and Snort (1%) lines mixed in, their time taken from the last
    syslog line.
    """
    rnd = random.Random(seed)
    base = generate(n, seed)
    stamp = "Nov 22 00:00:00"
    for _ in range(n):
        x = rnd.random()
        if x < 0.04:
            host = rnd.choice(_HOSTS)
            src = f"10.0.{rnd.randrange(4)}.{rnd.randrange(1, 255)}:{rnd.randrange(1024, 65536)}"
            dst = (f"{rnd.choice((62, 80, 193, 217))}.{rnd.randrange(256)}."
                   f"{rnd.randrange(256)}.{rnd.randrange(1, 255)}:"
                   f"{rnd.choice((25, 53, 80, 80, 110, 443, 6667))}")
            kind = rnd.choice(("FWIN", "FWIN", "FWOUT", "FWROUTE"))
            transport = rnd.choice(("tcp", "tcp", "udp", "icmp", "TCP"))
            yield (f"{stamp} {host} ZoneAlarm: {kind},2004/11/22,{stamp[7:]},{src},{dst},"
                   f"{transport}")
        elif x < 0.06:
            yield antivirusLine(rnd, stamp)
        elif x < 0.07:
            yield (f"{stamp} ids snort[{rnd.randrange(300, 32000)}]: [1:{rnd.randrange(100, 3000)}:1]"
                   f" SCAN nmap XMAS [Classification: Attempted Information Leak]"
                   f" [Priority: 2]: {{TCP}} 61.{rnd.randrange(256)}.3.4:{rnd.randrange(1024, 65536)}"
                   f" -> 10.0.0.1:{rnd.choice((22, 80, 443))}")
        else:
            line = next(base)
            if _SYSLOG_STAMP.match(line):
                stamp = line[:15]
            yield line


#: Rule templates: C{{user}}, C{{net}} (a first octet), C{{port}} and
#: C{{action}} are filled in by L{extraRules}.
_TEMPLATES = (
    "sshd,event eq Failed AND user eq {user},{action}",
    "sshd,event eq Failed AND src_ip eq {net}.*.*.*,warning",
    "SSHD,event eq Accepted AND user ne {user},display=user#src_ip#src_port#loghost",
    "sshd,invalid_user ct ^(?:admin|test|oracle|guest)$,{action}",
    "sshd,message ct session_opened_for_user_root,icon=root.bmp",
    "sshd,src_port >= {port} AND event eq Failed,warn",
    "sshd,message nc ^(?:Accepted|Failed|Invalid) AND message ct disconnect,{action}",
    "sshd,user eq root OR invalid_user eq root AND event eq Failed,ALERT",
    "sshd,src_ip ne 10.0.0.0/8 AND event eq Accepted,{action}",
    "sshd,user gt m AND method eq password,{action}",
    "su,result eq FAILED_SU_,alert",
    "su,target_user eq root AND user ne {user},{action}",
    r"su,tty ct ^/dev/pts/\d+$,display=user#target_user#tty",
    "su,message ct session_opened OR user eq {user},{action}",
    "sudo,failure ct incorrect_password,alert",
    "sudo,command ct ^/bin/(?:ba)?sh$ OR command ct /etc/shadow,{action}",
    "sudo,target_user eq root AND user eq {user},display=user#command#pwd",
    "sudo,command eq /bin/cat_/etc/shadow,icon=shadow.bmp",
    "iptables,dst_port = {port} AND proto eq TCP,{action}",
    "iptables,dst_port = 23 OR dst_port = 3389 OR dst_port == 445,alert",
    "iptables,prefix ct DROP AND src_ip eq {net}.*.*.*,display=src_ip#dst_ip#dst_port#proto",
    "iptables,len >= 400 AND proto eq UDP,{action}",
    "iptables,prefix eq SuSE-FW-ACCEPT,reject",
    "iptables,dst_ip eq 10.{port3}.*.*,icon=fw.bmp",
    "iptables,src_ip ne 10.0.0.0/8 AND dst_port <= 1024 AND out eq eth1,{action}",
    "iptables,proto eq ICMP OR dst_port != 22 AND prefix ct ILLEGAL,{action}",
    "audit,type eq SYSCALL AND uid = 0 AND exe ct ^/tmp/,alert",
    "audit,auid = 4294967295 AND uid == 0,{action}",
    "audit,type eq PATH,reject",
    "audit,type eq CWD,drop",
    "audit,exe eq /bin/cat OR exe eq /usr/bin/vi,display=type#exe#uid#pid",
    "audit,res eq failed OR acct ne * OR pid <= 300,{action}",
    "apache,status >= 500,warning",
    r"apache,status = 404 AND url ct \.php$,display=src_ip#url#status",
    r"apache,url ct \.\./,alert",
    "apache,agent ct (?i)curl|wget,icon=robot.bmp",
    "apache,user ne - AND status = 200,display=user#url",
    "apache,size >= {size},{action}",
    "apache,method eq GET AND status = 200 AND size <= 100,reject",
    "apache,src_ip eq {net}.*.*.* OR time lt 22/Nov/2004:01,{action}",
    "ZoneAlarm,transport eq udp AND dest ct :53$,warn",
    "ZoneAlarm,src_ip eq 10.0.*.* AND type eq FWOUT,display=",
    "zonealarm,ip eq 10.0.0.* OR loghost eq lan,{action}",
    "Antivirus,message eq quarantined,warning",
    r"Antivirus,virusname ct ^W32\.,display=username#virusname",
    "Antivirus,message eq scan_started OR message eq scan_finished,{action}",
    "Snort,ip eq *,{action}",
    "postfix,*,alert",
)
_ACTIONS = ("alert", "warning", "warn", "display=", "display=application#line",
            "display=host#user#message", "icon=event.bmp", "drop", "reject", "Alert",
            "DISPLAY=loghost#line", "Reject")


def extraRules(count=100, seed=1):
    """The text of C{count} rules made from L{_TEMPLATES}, reproducibly."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        template = _TEMPLATES[i % len(_TEMPLATES)]
        out.append(template.format(
            user=rnd.choice(_USERS), net=rnd.choice((10, 61, 62, 80, 193, 200, 211)),
            port=rnd.choice((22, 23, 25, 80, 443, 1024, 3389, 30000)),
            port3=rnd.randrange(4), size=rnd.choice((1000, 10000, 30000)),
            action=rnd.choice(_ACTIONS)))
    return "\n".join(out) + "\n"


def writeLines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        writeCorpus(f, lines)


def peakRSS():
    """Peak resident set size of this process, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def runEngine(engine, path, batch=False):
    """
    The engine on C{path}'s lines, chunk by chunk as C{mice analyze}
    reads them (the syslog header's host as C{ip} and C{hostname}, as it
    does); only the engine's part is timed (CPU and wall).

    @param batch: C{False} (L{LogIdsEngine.recordFor} and
        L{LogIdsEngine.evaluate}), C{"batch"} (L{LogIdsEngine.analyseLines})
        or C{"actions"} (L{LogIdsEngine.actions}).
    @return: C{(lines, actions, cpu, wall)}.
    """
    stream = os.path.abspath(path)
    lines = actions = 0
    cpu = wall = 0.0
    gc.collect()
    for chunk, _ in _readLines(path, 1 << 20):
        began, cpuBegan = time.perf_counter(), time.process_time()
        if batch == "actions":
            for _, taken in engine.actions(chunk, ip=None, stream=stream, hostname=None):
                actions += len(taken)
        elif batch:
            for _, _, taken in engine.analyseLines(chunk, ip=None, stream=stream, hostname=None):
                actions += len(taken)
        else:
            for line in chunk:
                host = syslogHost(line)
                ip = host if isAddress(host) else ""
                record = engine.recordFor(line, ip=ip, stream=stream, hostname=host)
                actions += len(engine.evaluate(record))
        cpu += time.process_time() - cpuBegan
        wall += time.perf_counter() - began
        lines += len(chunk)
    return lines, actions, cpu, wall


def compareFilters(old, new, paths):
    """
    The records of the lines of C{paths} with the filters C{old} and C{new}
    (L{LogIdsEngine.recordFor}): prints how many lines and how many differ
    (application, fields and their order) and the first few that do.
    @return: the number of lines that differ.
    """
    before, now = LogIdsEngine((), old), LogIdsEngine((), new)
    lines = differences = 0
    for path in paths:
        stream = os.path.abspath(path)
        for chunk, _ in _readLines(path, 1 << 20):
            for line in chunk:
                lines += 1
                a = before.recordFor(line, "192.0.2.1", stream, "host")
                b = now.recordFor(line, "192.0.2.1", stream, "host")
                if a != b or list(a.fields) != list(b.fields):
                    differences += 1
                    if differences <= 5:
                        print(f"differs: {line!r}\n  before: {a}\n  now:    {b}", file=sys.stderr)
    print(f"compare=filters lines={lines} differences={differences}", flush=True)
    return differences


def runCli(rules, filters, netdef, path, lines):
    """C{mice analyze ... --json} on C{path}: wall time, child CPU, peak RSS."""
    command = [sys.executable, "-m", "mice.cli", "analyze", "--rules", rules,
               "--filters", filters, path, "--json"]
    if netdef:
        command[-2:-2] = ["--netdef", netdef]
    with open(os.devnull, "wb") as devnull, tempfile.TemporaryFile() as err:
        status, elapsed, cpu, rss = measureChild(command, ROOT, devnull, err)
        err.seek(0)
        summary = err.read().decode("utf-8", "replace").splitlines()
    print(f"cli=mice-analyze-rules-json file={os.path.basename(path)} lines={lines}"
          f" status={status} wall_seconds={elapsed:.2f} cpu_seconds={cpu:.2f}"
          f" lines_per_second={lines / elapsed:.0f} cpu_lines_per_second={lines / cpu:.0f}"
          f" peak_rss_mib={rss / 2 ** 20:.1f}", flush=True)
    if status != 0:
        print("\n".join(summary[:20]), file=sys.stderr)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--extra-rules", type=int, default=100)
    parser.add_argument("--filters", default=FILTERS)
    parser.add_argument("--netdef", help="a netdef.txt (default: none, as the target command)")
    parser.add_argument("--no-cli", action="store_true", help="only the in-process engine")
    parser.add_argument("--no-engine", action="store_true", help="only the command")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the corpus and rules to DIR and keep them")
    parser.add_argument("--compare-filters", metavar="OLD",
                        help="check that --filters gives every line the records OLD gives,"
                             " and measure nothing")
    options = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        directory = options.keep or scratch
        os.makedirs(directory, exist_ok=True)
        rulesPath = os.path.join(directory, "rules.txt")
        with open(SEED_RULES, encoding="utf-8") as f:
            seedText = f.read()
        with open(rulesPath, "w", encoding="utf-8") as f:
            f.write(seedText + extraRules(options.extra_rules, options.seed))
        corpusPath = os.path.join(directory, "corpus.log")
        antivirusPath = os.path.join(directory, "antivirus-1.log")
        began = time.perf_counter()
        writeLines(corpusPath, corpus(options.lines, options.seed))
        rnd = random.Random(options.seed)
        writeLines(antivirusPath, (antivirusLine(rnd, "Nov 22 %02d:%02d:%02d"
                                                 % (i // 3600 % 24, i // 60 % 60, i % 60))
                                   for i in range(max(1, options.lines // 50))))
        print(f"corpus={corpusPath} lines={options.lines}"
              f" seconds={time.perf_counter() - began:.1f}", flush=True)

        rules, filters, netdef, problems = loadFiles(rulesPath, options.filters,
                                                     options.netdef)
        if problems:
            raise SystemExit("\n".join(map(str, problems)))
        files = ((corpusPath, options.lines), (antivirusPath, max(1, options.lines // 50)))
        if options.compare_filters:
            old, more = loadFilters(options.compare_filters)
            if more:
                raise SystemExit("\n".join(map(str, more)))
            return 1 if compareFilters(old, filters, [path for path, _ in files]) else 0
        modes = [False] + [mode for mode, method in (("batch", "analyseLines"),
                                                     ("actions", "actions"))
                           if hasattr(LogIdsEngine, method)]
        for path, _ in () if options.no_engine else files:
            for batch in modes:
                engine = LogIdsEngine(rules, filters, netdef)
                lines, actions, cpu, wall = runEngine(engine, path, batch)
                print(f"engine{'_' + batch if batch else ''}=logids file={os.path.basename(path)}"
                      f" rules={len(rules)} filters={len(filters)} lines={lines}"
                      f" actions={actions} cpu_seconds={cpu:.2f} wall_seconds={wall:.2f}"
                      f" lines_per_second={lines / cpu:.0f}"
                      f" wall_lines_per_second={lines / wall:.0f}"
                      f" peak_rss_mib={peakRSS():.1f}", flush=True)
        if not options.no_cli:
            for path, lines in files:
                runCli(rulesPath, options.filters, options.netdef, path, lines)


if __name__ == "__main__":
    sys.exit(main())
