#!/usr/bin/env python
"""
Generate a realistic, reproducible syslog corpus for M-ICE benchmarks.

The mix is what a small Linux site's central log host sees: sshd (accepted,
failed, invalid user, disconnect, PAM sessions), su and sudo, netfilter LOG
lines (SuSEfirewall2 DROP/ACCEPT/ILLEGAL prefixes and plain ones, TCP, UDP,
ICMP), auditd records (SYSCALL with its CWD/PATH/PROCTITLE companions, raw and
through audispd) and LAuS C{aucat} lines, Apache access and error logs, cron
and postfix (smtpd, qmgr, smtp, cleanup).  Time stamps advance in order.

    python bench/gencorpus.py --lines 1000000 --seed 1 -o corpus.log

or, from Python, C{generate(n, seed)}: an iterator of C{n} lines (without
newlines).  The same seed always gives the same lines.
"""

import argparse
import bisect
import random
import sys
import time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

START = 1101081600  # 2004-11-22T00:00:00Z

_USERS = (
    "root", "alice", "bob", "carol", "dave", "eve", "mallory", "thomas", "backup",
    "www", "postgres", "nagios", "jenkins", "deploy", "marco", "lena", "svc_ldap",
)  # fmt: skip
_BAD_USERS = (
    "admin", "test", "oracle", "guest", "user", "ubuntu", "pi", "ftpuser", "support",
    "git", "mysql", "postgres", "administrator", "tomcat", "info", "webmaster", "nagios",
)  # fmt: skip
_HOSTS = ("fw", "gate", "www1", "www2", "mail", "db1", "ldap", "build", "nfs", "ws17", "ws23")
_URLS = (
    "/", "/index.html", "/favicon.ico", "/robots.txt", "/images/logo.png", "/css/site.css",
    "/js/app.js", "/cgi-bin/search.pl?q=linux", "/login.php", "/wp-login.php",
    "/phpmyadmin/index.php", "/downloads/mice-0.1-0.i386.rpm", "/docs/manual.pdf",
    "/api/v1/status", "/../../etc/passwd", "/cgi-bin/awstats.pl?config=www",
)  # fmt: skip
_AGENTS = (
    "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.7.5) Gecko/20041108 Firefox/1.0",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
    "Opera/7.54 (Windows NT 5.1; U)  [en]",
    "Wget/1.9.1",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "curl/7.12.2 (i686-suse-linux) libcurl/7.12.2 OpenSSL/0.9.7d zlib/1.2.1",
)
_PROGRAMS = (
    ("/bin/cat", "cat"), ("/usr/bin/vi", "vi"), ("/bin/ls", "ls"), ("/usr/sbin/sshd", "sshd"),
    ("/bin/bash", "bash"), ("/usr/bin/passwd", "passwd"), ("/usr/bin/crontab", "crontab"),
    ("/usr/sbin/postfix", "postfix"), ("/usr/bin/python3", "python3"), ("/tmp/.x/kit", "kit"),
)  # fmt: skip
_WATCHED = (
    ("/etc/ssh/sshd_config", "sshd_config"), ("/etc/shadow", "shadow"), ("/etc/passwd", "passwd"),
    ("/etc/sudoers", "sudoers"), ("/var/log/messages", "logs"), ("/etc/crontab", "cron"),
)  # fmt: skip
_SYSCALLS = ((2, "open"), (59, "execve"), (257, "openat"), (87, "unlink"), (90, "chmod"))
_LAUS = (
    ("PROC_realgid", "setgroups32(1, [%d]); result=0"),
    ("PRIV_userchange", "setresuid32(-1, %d, -1); result=0"),
    ("PROC_realgid", "setgid32(%d); result=0"),
    ("PRIV_userchange", "setuid32(%d); result=0"),
    ("FILE_open", 'open("/var/log/audit.d/bin.%d", O_RDONLY);result=3'),
    ("PROC_execute", 'execve("/usr/sbin/aucat", ["aucat"], [data, len=%d])'),
    ("PROC_execute", 'execve("/usr/bin/wc", ["wc", "-l"], [data, len=%d])'),
    ("FILE_unlink", 'unlink("/tmp/.X%d-lock"); result=-2'),
)
_CRON = (
    "(root) CMD (/usr/lib/cron/run-crons)",
    "(root) CMD (test -x /usr/sbin/logrotate && /usr/sbin/logrotate /etc/logrotate.conf)",
    "(www) CMD (/usr/bin/php /srv/www/cron.php >/dev/null 2>&1)",
    "(backup) CMD (/usr/local/bin/backup.sh --incremental)",
    "(nagios) CMD (/usr/lib/nagios/plugins/check_disk -w 10% -c 5%)",
)
_DOMAINS = ("example.org", "mail.example.net", "gmx.de", "web.de", "yahoo.com", "uni-muenster.de")
_FW_PREFIXES = (
    "SuSE-FW-DROP-DEFAULT ", "SuSE-FW-DROP-DEFAULT ", "SuSE-FW-DROP ", "SuSE-FW-ACCEPT ",
    "SuSE-FW-ILLEGAL-TARGET ", "SuSE-FW-DROP-ANTI-SPOOF ", "SuSE-FW-UNAUTHORIZED-TARGET ",
    "", "DROP:", "iptables-in ",
)  # fmt: skip
_FW_PORTS = (22, 22, 22, 23, 25, 53, 80, 80, 110, 135, 139, 143, 443, 445, 1433, 3306, 3389, 8080)


def _ips(rnd, count, private):
    out = []
    for _ in range(count):
        if private:
            out.append("10.%d.%d.%d" % (rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255)))
        else:
            first = rnd.choice((24, 61, 62, 80, 81, 82, 84, 193, 194, 195, 200, 201, 202, 211, 218, 221))
            out.append(
                "%d.%d.%d.%d"
                % (first, rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
            )
    return tuple(out)


def _macs(rnd, count):
    return tuple(
        ":".join(["%02x" % rnd.randrange(256) for _ in range(12)] + ["08", "00"])
        for _ in range(count)
    )


def generate(n, seed=1, start=START):
    """
    Yield C{n} corpus lines (no trailing newline), reproducibly for C{seed}.
    """
    rnd = random.Random(seed)
    r = rnd.random
    outside = _ips(rnd, 400, False)
    inside = _ips(rnd, 60, True)
    macs = _macs(rnd, 8)
    hostPids = {host: 2000 + rnd.randrange(20000) for host in _HOSTS}

    def pick(seq):
        return seq[int(r() * len(seq))]

    def nextPid(host):
        pid = hostPids[host] + 1 + int(r() * 8)
        if pid > 32767:
            pid = 300
        hostPids[host] = pid
        return pid

    clock = [float(start), -1]
    stamp = {}
    serial = [24000]
    lausSeq = [3300]

    def tick():
        clock[0] += r() * 0.1
        second = int(clock[0])
        if second != clock[1]:
            clock[1] = second
            tm = time.gmtime(second)
            hms = "%02d:%02d:%02d" % (tm.tm_hour, tm.tm_min, tm.tm_sec)
            stamp["syslog"] = "%s %2d %s" % (_MONTHS[tm.tm_mon - 1], tm.tm_mday, hms)
            stamp["iso"] = "%04d-%02d-%02dT%s" % (tm.tm_year, tm.tm_mon, tm.tm_mday, hms)
            stamp["apache"] = "%02d/%s/%04d:%s +0000" % (
                tm.tm_mday,
                _MONTHS[tm.tm_mon - 1],
                tm.tm_year,
                hms,
            )
            stamp["ctime"] = "%s %s %02d %s %04d" % (
                _DAYS[tm.tm_wday],
                _MONTHS[tm.tm_mon - 1],
                tm.tm_mday,
                hms,
                tm.tm_year,
            )
        return stamp["syslog"]

    def sshd(out):
        ts = tick()
        host = pick(_HOSTS)
        pid = nextPid(host)
        ip = pick(outside) if r() < 0.7 else pick(inside)
        port = 1024 + int(r() * 64000)
        x = r()
        if x < 0.25:
            user = pick(_USERS)
            method = "publickey" if r() < 0.6 else "password"
            out.append(f"{ts} {host} sshd[{pid}]: Accepted {method} for {user} from {ip} port {port} ssh2")
            out.append(f"{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session opened for user {user} by (uid=0)")
        elif x < 0.55:
            user = pick(_USERS)
            out.append(f"{ts} {host} sshd[{pid}]: Failed password for {user} from {ip} port {port} ssh2")
        elif x < 0.8:
            user = pick(_BAD_USERS)
            out.append(f"{ts} {host} sshd[{pid}]: Invalid user {user} from {ip}")
            out.append(f"{ts} {host} sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2")
        elif x < 0.92:
            out.append(f"{ts} {host} sshd[{pid}]: Received disconnect from {ip}: 11: Bye Bye")
        else:
            user = pick(_USERS)
            out.append(f"{ts} {host} sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}")

    def su(out):
        ts = tick()
        host = pick(_HOSTS)
        pid = nextPid(host)
        user = pick(_USERS)
        tty = "pts/%d" % int(r() * 12)
        x = r()
        if x < 0.35:
            out.append(f"{ts} {host} su: (to root) {user} on /dev/{tty}")
            out.append(f"{ts} {host} su[{pid}]: pam_unix(su:session): session opened for user root by {user}(uid={1000 + int(r() * 20)})")
        elif x < 0.45:
            out.append(f"{ts} {host} su: FAILED SU (to root) {user} on /dev/{tty}")
        elif x < 0.9:
            cmd = pick(("/usr/bin/systemctl restart apache2", "/bin/cat /etc/shadow", "/usr/bin/vi /etc/hosts", "/sbin/iptables -L -n", "/usr/bin/zypper up"))
            out.append(f"{ts} {host} sudo: {user} : TTY={tty} ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}")
        else:
            out.append(f"{ts} {host} sudo: {user} : 3 incorrect password attempts ; TTY={tty} ; PWD=/home/{user} ; USER=root ; COMMAND=/bin/bash")

    def firewall(out):
        ts = tick()
        host = pick(("fw", "gate", "www1", "mail"))
        uptime = "%d.%06d" % (clock[0] - start + 86400, int(r() * 1000000))
        prefix = pick(_FW_PREFIXES)
        src = pick(outside)
        dst = pick(inside)
        mac = " MAC=" + pick(macs) if r() < 0.85 else ""
        out_if = "" if r() < 0.8 else "eth1"
        ttl = 40 + int(r() * 88)
        ipid = int(r() * 65536)
        x = r()
        if x < 0.7:
            length = 40 + int(r() * 24)
            df = " DF" if r() < 0.7 else ""
            rest = (
                f"PROTO=TCP SPT={1024 + int(r() * 64000)} DPT={pick(_FW_PORTS)} "
                f"WINDOW={pick((5840, 16384, 65535, 1024))} RES=0x00 SYN URGP=0"
            )
        elif x < 0.9:
            length = 60 + int(r() * 400)
            df = ""
            rest = f"PROTO=UDP SPT={pick((53, 123, 137, 1026, 4000 + int(r() * 60000)))} DPT={pick((53, 137, 161, 514, 1434))} LEN={length - 20}"
        else:
            length = 84
            df = ""
            rest = f"PROTO=ICMP TYPE=8 CODE=0 ID={int(r() * 65536)} SEQ={int(r() * 1000)}"
        out.append(
            f"{ts} {host} kernel: [{uptime}] {prefix}IN=eth0 OUT={out_if}{mac} SRC={src} DST={dst} "
            f"LEN={length} TOS=0x00 PREC=0x00 TTL={ttl} ID={ipid}{df} {rest}"
        )

    def auditd(out):
        ts = tick()
        host = pick(_HOSTS)
        serial[0] += 1
        ident = "%d.%03d:%d" % (int(clock[0]), int(r() * 1000), serial[0])
        exe, comm = pick(_PROGRAMS)
        path, key = pick(_WATCHED)
        number, name = pick(_SYSCALLS)
        uid = pick((0, 0, 1000, 1001, 1002, 33))
        auid = uid if r() < 0.8 else 4294967295
        ok = r() < 0.7
        success, exit = ("yes", 3) if ok else ("no", -13)
        pid = nextPid(host)
        record = (
            f"type=SYSCALL msg=audit({ident}): arch=c000003e syscall={number} success={success} "
            f"exit={exit} a0=7fffd19c5592 a1=0 a2=7fffd19c4b50 a3=a items=1 ppid={pid - 3} "
            f"pid={pid} auid={auid} uid={uid} gid={uid} euid={uid} suid={uid} fsuid={uid} "
            f"egid={uid} sgid={uid} fsgid={uid} tty=pts{int(r() * 4)} ses={int(r() * 30)} "
            f'comm="{comm}" exe="{exe}" key="{key}"'
        )
        cwd = f'type=CWD msg=audit({ident}):  cwd="/root"'
        pathRecord = (
            f'type=PATH msg=audit({ident}): item=0 name="{path}" inode={int(r() * 900000)} '
            "dev=08:01 mode=0100600 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL"
        )
        if r() < 0.5:
            out.append(record)
            out.append(cwd)
            out.append(pathRecord)
        else:
            out.append(f"{ts} {host} audispd: node={host} {record}")
            out.append(f"{ts} {host} audispd: node={host} {pathRecord}")

    def laus(out):
        tick()
        lausSeq[0] += 1
        syscallClass, call = pick(_LAUS)
        login = "-1" if r() < 0.8 else "root"
        out.append(
            "%s %d %d %s [%s] %s"
            % (stamp["iso"], lausSeq[0], 1200 + int(r() * 800), login, syscallClass, call % int(r() * 60))
        )

    def apache(out):
        tick()
        ip = pick(outside)
        if r() < 0.85:
            url = pick(_URLS)
            status = pick((200, 200, 200, 200, 304, 404, 404, 403, 500, 301))
            size = int(r() * 40000) if status == 200 else 0
            user = "-" if r() < 0.95 else pick(_USERS)
            out.append(
                f'{ip} - {user} [{stamp["apache"]}] "GET {url} HTTP/1.1" {status} {size} '
                f'"-" "{pick(_AGENTS)}"'
            )
        else:
            msg = pick((
                "File does not exist: /srv/www/htdocs/favicon.ico",
                "File does not exist: /srv/www/htdocs/phpmyadmin",
                "client denied by server configuration: /srv/www/htdocs/.htaccess",
                "Invalid URI in request GET /../../etc/passwd HTTP/1.1",
            ))  # fmt: skip
            out.append(f"[{stamp['ctime']}] [error] [client {ip}] {msg}")

    def cron(out):
        ts = tick()
        host = pick(_HOSTS)
        pid = nextPid(host)
        if r() < 0.8:
            out.append(f"{ts} {host} /usr/sbin/cron[{pid}]: {pick(_CRON)}")
        else:
            out.append(f"{ts} {host} crond[{pid}]: pam_unix(crond:session): session opened for user root by (uid=0)")

    def postfix(out):
        ts = tick()
        pid = nextPid("mail")
        qid = "%X" % int(r() * 0xFFFFFFFFFF)
        ip = pick(outside)
        rdns = "unknown" if r() < 0.3 else "mx%d.%s" % (int(r() * 9), pick(_DOMAINS))
        x = r()
        user = pick(_USERS)
        if x < 0.3:
            out.append(f"{ts} mail postfix/smtpd[{pid}]: connect from {rdns}[{ip}]")
            out.append(f"{ts} mail postfix/smtpd[{pid}]: {qid}: client={rdns}[{ip}]")
            out.append(f"{ts} mail postfix/cleanup[{pid + 2}]: {qid}: message-id=<{int(r() * 1e9)}@{pick(_DOMAINS)}>")
        elif x < 0.5:
            out.append(f"{ts} mail postfix/qmgr[1234]: {qid}: from=<{user}@{pick(_DOMAINS)}>, size={int(r() * 90000)}, nrcpt=1 (queue active)")
        elif x < 0.7:
            out.append(
                f"{ts} mail postfix/smtp[{pid}]: {qid}: to=<{user}@{pick(_DOMAINS)}>, relay=mx1.{pick(_DOMAINS)}[{pick(outside)}]:25, "
                f"delay={r() * 3:.1f}, delays=0.1/0/0.5/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)"
            )
        elif x < 0.85:
            out.append(f"{ts} mail postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {rdns}[{ip}]: 554 5.7.1 <{user}@example.org>: Relay access denied; from=<spam@{pick(_DOMAINS)}> to=<{user}@example.org> proto=ESMTP helo=<{rdns}>")
        else:
            out.append(f"{ts} mail postfix/smtpd[{pid}]: disconnect from {rdns}[{ip}]")

    emitters = (
        (sshd, 22), (su, 4), (firewall, 20), (auditd, 6), (laus, 4),
        (apache, 20), (cron, 8), (postfix, 16),
    )  # fmt: skip
    cumulative = []
    total = 0
    for _, weight in emitters:
        total += weight
        cumulative.append(total)
    functions = [function for function, _ in emitters]
    choose = bisect.bisect_right

    produced = 0
    out = []
    while produced < n:
        out.clear()
        for _ in range(256):
            functions[choose(cumulative, r() * total)](out)
        take = min(len(out), n - produced)
        yield from out[:take]
        produced += take


def writeCorpus(out, lines):
    """
    Write C{lines} to the text file C{out}, each ended by a newline, in
    chunks (a corpus of millions of lines is never one string).
    """
    chunk = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 65536:
            chunk.append("")
            out.write("\n".join(chunk))
            chunk = []
    if chunk:
        chunk.append("")
        out.write("\n".join(chunk))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", default="-")
    options = parser.parse_args(argv)
    began = time.perf_counter()
    out = sys.stdout if options.output == "-" else open(options.output, "w", encoding="utf-8")
    try:
        writeCorpus(out, generate(options.lines, options.seed))
    finally:
        if out is not sys.stdout:
            out.close()
    elapsed = time.perf_counter() - began
    print(
        "%d lines in %.2f s (%.0f lines/s)" % (options.lines, elapsed, options.lines / elapsed),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
