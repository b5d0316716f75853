# -*- test-case-name: tests.unit.db.test_classify -*-
"""
Tests for L{mice.db.classify}.
"""

import os
import re
import sys

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from mice.db import classify as classifyModule
from mice.db.classify import FIREWALL, RAWLOG, SCSLOG, classify
from mice.db.schema import COLUMNS, ORIGIN_MAX, STREAM_MAX, UNSET_ID
from mice.record import LogRecord
from tests import ROOT

HOST = dict(
    hostname="fw",
    domain="example.org",
    ip="10.0.0.1",
    osystem="Linux",
    release="2.6.5-7.97-default",
    version="SuSE Linux 9.1",
)


#: What L{record} and L{expected} share beside the origin and the line.
COMMON = dict(stream="/var/log/messages", seq=7, date="2004-11-22", time="10:00:00",
              signature="c2ln", **HOST)


def record(logline, **fields):
    return LogRecord(**{"source": "client1", **COMMON, "logline": logline, **fields})


def expected(table, logline, **fields):
    """
    The row C{classify} should build for C{record(logline)}: C{fields} name
    the parsed columns, every other parsed column is C{None}.
    """
    values = {"origin": "client1", **COMMON, "logline": logline, **fields}
    unknown = set(values) - set(COLUMNS[table])
    assert not unknown, unknown
    return tuple(values.get(column) for column in COLUMNS[table])


def firewall(logline, **fields):
    return FIREWALL, expected(FIREWALL, logline, **fields)


def scslog(logline, **fields):
    return SCSLOG, expected(SCSLOG, logline, **fields)


def rawlog(logline):
    return RAWLOG, expected(RAWLOG, logline)


FW_SUSE_TCP = (
    "Nov 22 10:00:00 fw kernel: [12345.678] SuSE-FW-DROP-DEFAULT IN=eth0 OUT= "
    "MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=10.0.0.5 DST=10.0.0.1 LEN=60 "
    "TOS=0x00 PREC=0x00 TTL=64 ID=54321 DF PROTO=TCP SPT=40000 DPT=22 WINDOW=5840 "
    "RES=0x00 SYN URGP=0"
)
FW_PLAIN_UDP = (
    "Nov 22 10:00:01 gate kernel: IN=eth0 OUT=eth1 SRC=62.104.5.9 DST=10.1.2.3 LEN=78 "
    "TOS=0x00 PREC=0x00 TTL=116 ID=3451 PROTO=UDP SPT=1026 DPT=137 LEN=58"
)
FW_ACCEPT_ICMP = (
    "Nov 22 10:00:02 fw kernel: SuSE-FW-ACCEPT IN=eth1 OUT= SRC=10.0.0.9 DST=10.0.0.1 "
    "LEN=84 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=4660 SEQ=1"
)
FW_ICMP_ERROR = (
    "Nov 22 10:00:03 fw kernel: [ 8812.001] SuSE-FW-ILLEGAL-TARGET IN=eth0 OUT= "
    "MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=193.1.2.3 DST=10.0.0.1 LEN=56 "
    "TOS=0x00 PREC=0xC0 TTL=245 ID=2207 PROTO=ICMP TYPE=3 CODE=3 [SRC=10.0.0.1 "
    "DST=193.1.2.3 LEN=28 TOS=0x00 PREC=0x00 TTL=53 ID=0 PROTO=UDP SPT=33434 DPT=53 LEN=8 ]"
)
AUDIT_RAW = (
    "type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=2 success=no "
    "exit=-13 a0=7fffd19c5592 a1=0 a2=7fffd19c4b50 a3=a items=1 ppid=2686 pid=3538 "
    "auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 "
    'fsgid=1000 tty=pts0 ses=1 comm="cat" exe="/bin/cat" key="sshd_config"'
)
AUDIT_FIELDS = dict(
    syscall="2",
    program="/bin/cat",
    pid=3538,
    uid=1000,
    euid=1000,
    call="syscall=2 success=no exit=-13",
    comment="sshd_config",
)
LAUS_SEED = [
    (
        "2004-02-01T16:19:36 3322 1302 -1 [PROC_realgid] setgroups32(1, [51]); result=0",
        dict(syscall="PROC_realgid", call="setgroups32(1, [51])", comment="result=0"),
    ),
    (
        "2004-02-01T16:19:36 3323 1302 -1 [PRIV_userchange] setresuid32(-1, 51, -1); result=0",
        dict(syscall="PRIV_userchange", call="setresuid32(-1, 51, -1)", comment="result=0"),
    ),
    (
        "2004-02-01T16:19:36 3325 1302 -1 [PROC_realgid] setgid32(0); result=0",
        dict(syscall="PROC_realgid", call="setgid32(0)", comment="result=0"),
    ),
    (
        "2004-02-01T16:19:36 3327 1302 -1 [PRIV_userchange] setuid32(0); result=0",
        dict(syscall="PRIV_userchange", call="setuid32(0)", comment="result=0"),
    ),
    (
        '2004-02-01T16:19:41 3328 1754 -1 [PROC_execute] execve("/usr/sbin/aucat", '
        '["aucat"], [data, len=0])',
        dict(
            syscall="PROC_execute",
            call='execve("/usr/sbin/aucat", ["aucat"], [data, len=0])',
            pid=1754,
        ),
    ),
    (
        '2004-02-01T16:19:41 3330 1754 -1 [FILE_open] open("/var/log/audit.d/bin.0", '
        "O_RDONLY);result=3",
        dict(
            syscall="FILE_open",
            call='open("/var/log/audit.d/bin.0", O_RDONLY)',
            comment="result=3",
            pid=1754,
        ),
    ),
]
RAW_LINES = [
    "Nov 22 10:00:01 www1 sshd[2113]: Accepted publickey for alice from 10.0.0.7 port 40322 ssh2",
    "Nov 22 10:00:02 www1 sshd[2114]: Failed password for root from 61.1.2.3 port 4022 ssh2",
    "Nov 22 10:00:03 www1 sshd[2115]: Invalid user oracle from 61.1.2.3",
    "Nov 22 10:00:03 www1 sshd[2115]: Received disconnect from 61.1.2.3: 11: Bye Bye",
    "Nov 22 10:00:04 www1 su: (to root) alice on /dev/pts/1",
    "Nov 22 10:00:04 www1 sudo: alice : TTY=pts/1 ; PWD=/home/alice ; USER=root ; "
    "COMMAND=/bin/cat /etc/shadow",
    "Nov 22 10:00:05 www1 /usr/sbin/cron[2222]: (root) CMD (/usr/lib/cron/run-crons)",
    "Nov 22 10:00:06 mail postfix/smtpd[3001]: connect from unknown[61.1.2.3]",
    "Nov 22 10:00:06 mail postfix/qmgr[1234]: 3A1F4B2C1: from=<bob@example.org>, size=1234, "
    "nrcpt=1 (queue active)",
    "Nov 22 10:00:07 mail postfix/smtp[3002]: 3A1F4B2C1: to=<carol@example.net>, "
    "relay=mx1.example.net[62.1.2.3]:25, delay=0.9, dsn=2.0.0, status=sent (250 Ok)",
    '61.1.2.3 - - [22/Nov/2004:10:00:08 +0100] "GET /index.html HTTP/1.1" 200 1043 "-" '
    '"Mozilla/5.0"',
    "[Mon Nov 22 10:00:09 2004] [error] [client 61.1.2.3] File does not exist: "
    "/srv/www/htdocs/favicon.ico",
    "",
]


class FirewallTests(SynchronousTestCase):
    def assertClassified(self, line, **fields):
        self.assertEqual(classify(record(line)), firewall(line, **fields))

    def test_suseTcpWithMac(self):
        self.assertClassified(
            FW_SUSE_TCP,
            action="SuSE-FW-DROP-DEFAULT",
            if_in="eth0",
            mac="00:11:22:33:44:55:66:77:88:99:aa:bb:08:00",
            source="10.0.0.5",
            destination="10.0.0.1",
            ip_length="60",
            tos="0x00",
            prec="0x00",
            ttl="64",
            id="54321",
            protocol="TCP",
            src_port="40000",
            dst_port="22",
        )

    def test_plainUdpWithoutMac(self):
        """
        No prefix: no action.  UDP carries a second LEN, the packet's.
        """
        self.assertClassified(
            FW_PLAIN_UDP,
            if_in="eth0",
            if_out="eth1",
            source="62.104.5.9",
            destination="10.1.2.3",
            ip_length="78",
            tos="0x00",
            prec="0x00",
            ttl="116",
            id="3451",
            protocol="UDP",
            src_port="1026",
            dst_port="137",
            pac_length="58",
        )

    def test_icmpEcho(self):
        """
        The IP header's ID is C{id}, not the ICMP echo ID after PROTO.
        """
        self.assertClassified(
            FW_ACCEPT_ICMP,
            action="SuSE-FW-ACCEPT",
            if_in="eth1",
            source="10.0.0.9",
            destination="10.0.0.1",
            ip_length="84",
            tos="0x00",
            prec="0x00",
            ttl="64",
            id="0",
            protocol="ICMP",
        )

    def test_icmpErrorQuotesPacket(self):
        """
        The packet quoted in brackets by an ICMP error is not the logged one.
        """
        self.assertClassified(
            FW_ICMP_ERROR,
            action="SuSE-FW-ILLEGAL-TARGET",
            if_in="eth0",
            mac="00:11:22:33:44:55:66:77:88:99:aa:bb:08:00",
            source="193.1.2.3",
            destination="10.0.0.1",
            ip_length="56",
            tos="0x00",
            prec="0xC0",
            ttl="245",
            id="2207",
            protocol="ICMP",
        )

    def test_prefixWithoutSpace(self):
        line = (
            "Nov 22 10:00:00 gate kernel: [  17.5] DROP:IN=ppp0 OUT= SRC=1.2.3.4 DST=5.6.7.8 "
            "LEN=48 TOS=0x00 PREC=0x00 TTL=113 ID=4242 DF PROTO=TCP SPT=4000 DPT=445 "
            "WINDOW=16384 RES=0x00 SYN URGP=0"
        )
        self.assertClassified(
            line,
            action="DROP:",
            if_in="ppp0",
            source="1.2.3.4",
            destination="5.6.7.8",
            ip_length="48",
            tos="0x00",
            prec="0x00",
            ttl="113",
            id="4242",
            protocol="TCP",
            src_port="4000",
            dst_port="445",
        )

    BRIDGE = (
        "2004-11-22T10:00:00.123+01:00 br kernel: [UFW BLOCK] IN=br0 OUT=br0 PHYSIN=eth0 "
        "PHYSOUT=eth1 MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=10.0.0.5 "
        "DST=10.0.0.6 LEN=40 TOS=0x10 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 "
        "WINDOW=0 RES=0x00 RST URGP=0"
    )

    def test_bracketedPrefixAndBridge(self):
        """
        A prefix in brackets is not mistaken for the kernel time stamp;
        bridge lines name the physical ports too.
        """
        self.assertClassified(
            self.BRIDGE,
            action="[UFW BLOCK]",
            if_in="br0",
            if_out="br0",
            mac="00:11:22:33:44:55:66:77:88:99:aa:bb:08:00",
            source="10.0.0.5",
            destination="10.0.0.6",
            ip_length="40",
            tos="0x10",
            prec="0x00",
            ttl="64",
            id="1",
            protocol="TCP",
            src_port="1",
            dst_port="2",
        )

    def test_dmesgAndUlogd(self):
        """
        Without a syslog header (C{dmesg}), and from ulogd's own syslog tag.
        """
        tail = (
            "IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=9 "
            "PROTO=UDP SPT=53 DPT=53 LEN=40"
        )
        fields = dict(
            if_in="eth0",
            source="1.2.3.4",
            destination="5.6.7.8",
            ip_length="60",
            tos="0x00",
            prec="0x00",
            ttl="50",
            id="9",
            protocol="UDP",
            src_port="53",
            dst_port="53",
            pac_length="40",
        )
        for line in (
            "[12345.678] SuSE-FW-DROP " + tail,
            "Nov 22 10:00:00 fw ulogd[812]: SuSE-FW-DROP " + tail,
            # journalctl's other formats, and a priority as sent.
            "<4>Nov 22 10:00:00 fw ulogd[812]: SuSE-FW-DROP " + tail,
            "Nov 22 10:00:00.123456 fw ulogd[812]: SuSE-FW-DROP " + tail,
            "Mon 2004-11-22 10:00:00 CET fw ulogd[812]: SuSE-FW-DROP " + tail,
            "1101114000.123456 fw ulogd[812]: SuSE-FW-DROP " + tail,
            # busybox's syslogd (Alpine, OpenWrt): facility.level after the host.
            "Nov 22 10:00:00 fw kern.warn ulogd[812]: SuSE-FW-DROP " + tail,
            "Nov 22 10:00:00 fw local7.notice ulogd[812]: SuSE-FW-DROP " + tail,
        ):
            self.assertClassified(line, action="SuSE-FW-DROP", **fields)

    def test_ipv6(self):
        """
        IPv6 has no TOS, PREC, TTL or ID: the traffic class and hop limit
        fill C{tos} and C{ttl}.
        """
        line = (
            "Nov 22 10:00:00 fw kernel: [ 99.1] SuSE-FW-DROP-DEFAULT IN=eth0 OUT= "
            "MAC=33:33:00:00:00:01:00:11:22:33:44:55:86:dd SRC=fe80::1 DST=ff02::1 LEN=72 "
            "TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=134 CODE=0"
        )
        self.assertClassified(
            line,
            action="SuSE-FW-DROP-DEFAULT",
            if_in="eth0",
            mac="33:33:00:00:00:01:00:11:22:33:44:55:86:dd",
            source="fe80::1",
            destination="ff02::1",
            ip_length="72",
            tos="0",
            ttl="255",
            protocol="ICMPv6",
        )

    def test_fieldsWithoutInterfaces(self):
        """
        C{SRC=} and C{PROTO=} in a line that is no netfilter line.
        """
        line = "Nov 22 10:00:00 h app[1]: config SRC=/etc DST=/backup PROTO=rsync"
        self.assertEqual(classify(record(line)), rawlog(line))

    def test_fastPathAgreesWithGeneric(self):
        """
        The one-match parse of the usual layout gives what the field-by-field
        parse gives.
        """
        lines = [FW_SUSE_TCP, FW_PLAIN_UDP, FW_ACCEPT_ICMP, FW_ICMP_ERROR, AUDIT_RAW, self.BRIDGE]
        lines += [line for line in _corpus(4000) if " SRC=" in line or "syscall=" in line]
        fast = [classify(record(line)) for line in lines]
        self.patch(classifyModule, "_FW_FAST", re.compile("(?!)"))
        self.patch(classifyModule, "_AUDIT_FAST", re.compile("(?!)"))
        self.assertEqual([classify(record(line)) for line in lines], fast)


class LAuSTests(SynchronousTestCase):
    def test_seedLines(self):
        for line, fields in LAUS_SEED:
            fields = dict(dict(pid=1302, uid=UNSET_ID, euid=UNSET_ID), **fields)
            self.assertEqual(classify(record(line)), scslog(line, **fields))

    def test_rootLogin(self):
        line = "2004-02-01T16:20:00 3400 1787 root [PRIV_userchange] setuid32(0); result=0"
        self.assertEqual(
            classify(record(line)),
            scslog(
                line,
                syscall="PRIV_userchange",
                pid=1787,
                uid=0,
                euid=UNSET_ID,
                call="setuid32(0)",
                comment="result=0",
            ),
        )

    def test_notASyscall(self):
        """
        LAuS's own messages are no syscall records.
        """
        line = "2004-02-01T15:44:12 0 1787 root [AUDIT_start] audit system started"
        self.assertEqual(classify(record(line)), rawlog(line))

    def test_absurdNumbers(self):
        line = "2004-02-01T16:19:36 3322 99999999999999999999 4294967296 [X] f(); result=0"
        self.assertEqual(
            classify(record(line)),
            scslog(
                line,
                syscall="X",
                pid=UNSET_ID,
                uid=UNSET_ID,
                euid=UNSET_ID,
                call="f()",
                comment="result=0",
            ),
        )


class AuditdTests(SynchronousTestCase):
    def assertSyscall(self, line, **fields):
        self.assertEqual(classify(record(line)), scslog(line, **dict(AUDIT_FIELDS, **fields)))

    def test_raw(self):
        self.assertSyscall(AUDIT_RAW)

    def test_throughSyslog(self):
        body = AUDIT_RAW[len("type=SYSCALL msg=") :]
        fields = body[body.index("arch=") :]
        for line in (
            "node=fw " + AUDIT_RAW,
            "Mar 28 14:36:03 fw audispd: node=fw " + AUDIT_RAW,
            "Mar 28 14:36:03 fw audisp-syslog: " + AUDIT_RAW,
            "Mar 28 14:36:03 fw kernel: [ 1234.567890] audit: type=1300 " + body,
            "Mar 28 14:36:03 fw kernel: type=1300 " + body,
            "Mar 28 14:36:03 fw kernel: " + body,
            "Mar 28 14:36:03 fw audit[3538]: SYSCALL " + fields,
            # journalctl's other formats (short-precise, short-full, short-unix).
            "Mar 28 14:36:03.123456 fw audit[3538]: SYSCALL " + fields,
            "Sat 2009-03-28 14:36:03 CET fw audisp-syslog: " + AUDIT_RAW,
            "1238247363.123456 fw kernel: audit: type=1300 " + body,
            # busybox's syslogd: facility.level after the host.
            "Mar 28 14:36:03 fw kern.notice kernel: audit: type=1300 " + body,
            "Mar 28 14:36:03 fw user.notice audisp-syslog: " + AUDIT_RAW,
        ):
            self.assertSyscall(line)

    def test_hexAndNull(self):
        """
        auditd writes strings with spaces in hex; an unset key is C{(null)}.
        """
        line = AUDIT_RAW.replace('exe="/bin/cat"', "exe=2F746D702F6D7920636174").replace(
            'key="sshd_config"', "key=(null)"
        )
        self.assertSyscall(line, program="/tmp/my cat", comment=None)

    def test_interpreted(self):
        """
        C{ausearch -i} output: names instead of numbers.
        """
        line = (
            "type=SYSCALL msg=audit(03/28/2013 14:36:03.243:24287) : arch=x86_64 "
            "syscall=open success=no exit=EACCES(Permission denied) a0=0x7fffd19c5592 "
            "a1=O_RDONLY items=1 ppid=2686 pid=3538 auid=alice uid=root gid=root euid=root "
            "tty=pts0 ses=1 comm=cat exe=/bin/cat key=sshd_config"
        )
        self.assertSyscall(
            line,
            syscall="open",
            uid=0,
            euid=0,
            call="syscall=open success=no exit=EACCES(Permission denied)",
        )

    def test_enriched(self):
        """
        auditd 3's ENRICHED format appends interpreted fields after a GS
        character.
        """
        line = AUDIT_RAW + "\x1dARCH=x86_64 SYSCALL=open AUID=\"alice\" UID=\"alice\""
        self.assertSyscall(line)
        line = AUDIT_RAW.replace('key="sshd_config"', "key=(null)") + "\x1dARCH=x86_64"
        self.assertSyscall(line, comment=None)

    def test_unusualOrder(self):
        """
        Fields out of the kernel's order, or missing, still parse.
        """
        line = "type=SYSCALL msg=audit(1.002:3): arch=c000003e syscall=59 comm=\"sh\" pid=12"
        self.assertSyscall(
            line,
            syscall="59",
            program="sh",
            pid=12,
            uid=UNSET_ID,
            euid=UNSET_ID,
            call="syscall=59",
            comment=None,
        )

    def test_absurdNumbers(self):
        line = AUDIT_RAW.replace("pid=3538", "pid=99999999999999999999").replace(
            " uid=1000", " uid=-1"
        )
        self.assertSyscall(line, pid=UNSET_ID, uid=UNSET_ID)
        line = AUDIT_RAW.replace("pid=3538", "pid=" + "9" * 5000)
        self.assertSyscall(line, pid=UNSET_ID)

    def test_otherRecords(self):
        """
        Audit records other than SYSCALL, even those naming a syscall, go to
        C{rawlog_line}; so does a forged one inside another program's line.
        """
        for line in (
            'type=PATH msg=audit(1364481363.243:24287): item=0 name="/etc/ssh/sshd_config" '
            "inode=409248 dev=fd:00 mode=0100600 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
            'type=CWD msg=audit(1364481363.243:24287):  cwd="/home/alice"',
            "type=USER_LOGIN msg=audit(1364481363.100:24280): pid=2686 uid=0 auid=1000 ses=1 "
            "msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.7 "
            "terminal=/dev/pts/0 res=success'",
            "type=SECCOMP msg=audit(1364481363.300:24290): auid=1000 uid=1000 gid=1000 ses=1 "
            'pid=3600 comm="chrome" exe="/opt/chrome" sig=0 arch=c000003e syscall=273 '
            "compat=0 ip=0x7f code=0x50000",
            "Mar 28 14:36:03 fw sshd[1]: Invalid user type=SYSCALL msg=audit(1.1:1): "
            "arch=c000003e syscall=2 from 1.2.3.4",
        ):
            self.assertEqual(classify(record(line)), rawlog(line))


class RawLogTests(SynchronousTestCase):
    def test_everythingElse(self):
        for line in RAW_LINES:
            self.assertEqual(classify(record(line)), rawlog(line))


class RowSafetyTests(SynchronousTestCase):
    """
    Every row can be inserted, whatever the record held.
    """

    def test_badDateAndTime(self):
        for date, time in [
            ("", ""),
            ("2004-02-30", "24:00:00"),
            ("0000-00-00", "10:00"),
            ("2004-1-2", "10:00:00.5"),
            ("２００４-11-22", "1０:00:00"),
            (None, None),
        ]:
            table, row = classify(record("x", date=date, time=time))
            values = dict(zip(COLUMNS[table], row))
            self.assertEqual((values["date"], values["time"]), (None, None), (date, time))

    def test_surrogates(self):
        """
        Undecodable bytes kept by C{surrogateescape} come out as C{\\xNN}.
        """
        line = b"Nov 22 10:00:00 h x: caf\xe9 \xf0\x9f\x9b\xa1".decode("utf-8", "surrogateescape")
        table, row = classify(record(line, hostname="h\udcff", signature="\ud800"))
        values = dict(zip(COLUMNS[table], row))
        self.assertEqual(values["logline"], "Nov 22 10:00:00 h x: caf\\xe9 \U0001f6e1")
        self.assertEqual(values["hostname"], "h\\xff")
        self.assertEqual(values["signature"], "\\xed\\xa0\\x80")
        for value in row:
            if isinstance(value, str):
                value.encode("utf-8")

    def test_longKeys(self):
        """
        Over-long origins and streams are shortened and stay distinct.
        """
        rows = set()
        for suffix in "ab":
            table, row = classify(
                record("x", source="s" * 300 + suffix, stream="/" + "d" * 400 + suffix)
            )
            self.assertLessEqual(len(row[0]), ORIGIN_MAX)
            self.assertLessEqual(len(row[1]), STREAM_MAX)
            rows.add(row[:2])
        self.assertEqual(len(rows), 2)
        self.assertEqual(
            classify(record("x", source="s" * 300 + "a"))[1][0], classify(record("x", source="s" * 300 + "a"))[1][0]
        )

    def test_parserBugKeepsLine(self):
        """
        Should a parser ever raise, the line is stored whole in
        C{rawlog_line} instead of failing the batch.
        """

        def broken(line):
            raise ValueError("bug")

        self.patch(classifyModule, "_firewall", broken)
        self.assertEqual(classify(record(FW_SUSE_TCP)), rawlog(FW_SUSE_TCP))

def _corpus(n, seed=5):
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        from gencorpus import generate
    finally:
        del sys.path[0]
    return list(generate(n, seed))


REAL_LINES = (
    [FW_SUSE_TCP, FW_PLAIN_UDP, FW_ACCEPT_ICMP, FW_ICMP_ERROR, AUDIT_RAW]
    + [line for line, _ in LAUS_SEED]
    + RAW_LINES
)


@st.composite
def mutatedLines(draw):
    line = draw(st.sampled_from(REAL_LINES))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(line)))
        kind = draw(st.sampled_from(["insert", "delete", "number", "duplicate"]))
        if kind == "insert":
            line = line[:at] + draw(st.text(max_size=12)) + line[at:]
        elif kind == "delete":
            line = line[:at] + line[at + draw(st.integers(1, 20)) :]
        elif kind == "number":
            number = draw(st.sampled_from(["-1", "99999999999999999999", "0", "4294967296", "9" * 5000]))
            line = re.sub(r"\d+", number, line, count=1) if at % 2 else line[:at] + number + line[at:]
        else:
            line = line[:at] + line[at:][:40] + line[at:]
    return line


def assertWellFormed(testCase, table, row):
    testCase.assertIn(table, (RAWLOG, FIREWALL, SCSLOG))
    testCase.assertEqual(len(row), len(COLUMNS[table]))
    values = dict(zip(COLUMNS[table], row))
    for column in ("pid", "uid", "euid"):
        if column in values:
            testCase.assertIsInstance(values[column], int)
            testCase.assertTrue(0 <= values[column] <= UNSET_ID)
    testCase.assertLessEqual(len(values["origin"]), ORIGIN_MAX)
    testCase.assertLessEqual(len(values["stream"]), STREAM_MAX)
    for value in row:
        if isinstance(value, str):
            value.encode("utf-8")


class PropertyTests(SynchronousTestCase):
    @given(st.text(alphabet=st.characters(), max_size=400))
    def test_anyText(self, line):
        table, row = classifyModule._classify(record(line))
        assertWellFormed(self, table, row)

    @given(mutatedLines())
    def test_mutatedRealLines(self, line):
        table, row = classifyModule._classify(record(line))
        assertWellFormed(self, table, row)
        self.assertEqual(dict(zip(COLUMNS[table], row))["logline"], line)

    @given(
        st.lists(st.text(
            st.characters(exclude_categories=())
            | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
            max_size=300,
        ), min_size=12, max_size=12),
        st.integers(0, 2**63 - 1),
    )
    def test_anyRecord(self, texts, seq):
        """
        Any text in any field, lone surrogates included.
        """
        texts.insert(2, seq)
        table, row = classifyModule._classify(LogRecord(*texts))
        assertWellFormed(self, table, row)


class HostileLineTests(SynchronousTestCase):
    """
    No line makes the classifier backtrack for long: each of these took
    seconds to minutes with a careless regular expression.
    """

    LINES = {
        "tags": "Nov 22 10:00:00 h " + "audi" * 15000 + " syscall=1",
        "interfaces": "IN=" * 20000 + " SRC= PROTO=",
        "outs": "IN=x" + " OUT=" * 12000 + " SRC= PROTO=",
        "fields": "IN=x OUT=y " + "SRC=a " * 10000 + "PROTO=TCP",
        "repeated": "k: " + "IN=x OUT=y SRC=a DST=b LEN=1 TOS=1 PREC=1 TTL=1 ID=1 " * 1200 + "PROTO=",
        "parens": "type=SYSCALL msg=audit(1:1): arch=x syscall=1 " + "k=a( " * 12000,
        "stamp": "type=SYSCALL msg=audit(" + "(" * 30000 + " syscall=1",
        "tokens": "type=SYSCALL msg=audit(1:1): arch=x syscall=1 success=y exit=1 items=1 "
        "ppid=1 pid=1 auid=1 uid=1 gid=1 euid=1 " + "x=1 " * 15000 + "comm=",
        "laus": "2004-02-01T16:19:36 1 2 3 [X] f(" + "; " * 30000,
    }

    def test_linear(self):
        import time

        for name, line in self.LINES.items():
            began = time.perf_counter()
            table, row = classifyModule._classify(record(line))
            assertWellFormed(self, table, row)
            self.assertLess(time.perf_counter() - began, 0.5, name)


_anyText = st.text(
    st.characters(exclude_categories=())
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
    max_size=300,
)


def rowsOfBatch(source, stream, seq, host, recs):
    """
    The rows L{classifyModule.classifyBatch} gives, as L{classify} gives
    them: C{[(table, row), ...]} in record order.
    """
    key, rowsByTable = classifyModule.classifyBatch(source, stream, seq, host, recs)
    rows = []
    for table, tableRows in rowsByTable.items():
        for n, day, clock, fields, line, signature in tableRows:
            if table == FIREWALL:
                row = key[:2] + (n,) + key[2:] + fields + (day, clock, line, signature)
            else:
                row = key[:2] + (n,) + key[2:] + (day, clock) + fields + (line, signature)
            rows.append((n, table, row))
    return [(table, row) for _, table, row in sorted(rows, key=lambda r: r[0])]


class BatchTests(SynchronousTestCase):
    """
    L{classifyModule.classifyBatch} makes exactly the rows L{classify} makes
    of the same records, one by one.
    """

    def assertSameAsClassify(self, source, stream, seq, host, recs):
        self.assertEqual(
            rowsOfBatch(source, stream, seq, host, recs),
            [classify(LogRecord(source, stream, n, *host, *rec))
             for n, rec in enumerate(recs, seq)])

    def test_realLines(self):
        lines = [FW_SUSE_TCP, FW_PLAIN_UDP, AUDIT_RAW, LAUS_SEED[0][0]] + RAW_LINES
        self.assertSameAsClassify(
            "client1", "/var/log/messages", 7, tuple(HOST.values()),
            [["2004-11-22", "10:00:00", line, "c2ln"] for line in lines])

    def test_oddKeyAndDates(self):
        self.assertSameAsClassify(
            "o" * 500, "s\udcff" * 300, 1, ("\udc80", "", "", "Linux", "", ""),
            [["0999-01-01", "10:00:00", "x\udcff", "sig\ud800"],
             ["2004-02-30", "24:00:00", AUDIT_RAW, ""]])

    @given(st.lists(st.lists(_anyText, min_size=4, max_size=4), min_size=1, max_size=8),
           st.lists(_anyText, min_size=8, max_size=8), st.integers(0, 2**62))
    def test_anyRecords(self, recs, texts, seq):
        self.assertSameAsClassify(texts[0], texts[1], seq, tuple(texts[2:]), recs)

    @given(mutatedLines())
    def test_mutatedRealLines(self, line):
        self.assertSameAsClassify("client1", "/var/log/messages", 7, tuple(HOST.values()),
                                  [["2004-11-22", "10:00:00", line, ""]])
