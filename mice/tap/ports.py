# -*- test-case-name: tests.unit.test_ports -*-
"""
Loopback ports for C{mice-allinone}: a default port another program holds
falls back to a free one, with a line saying so; a port asked for on the
command line that is taken stops the start with a clear message.
"""

import socket

from twisted.python import usage


def isFree(port, host="127.0.0.1"):
    """
    Whether C{host:port} can be listened on now (with C{SO_REUSEADDR}, as
    Twisted listens: a port in TIME_WAIT is free).
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def anyFreePort(host="127.0.0.1"):
    """
    A port the system says is free now.
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def choosePorts(options, ports, defaults, isFree=isFree, anyFreePort=anyFreePort):
    """
    Check the ports of C{options} before anything listens.

    @param ports: C{(option, what listens there)} pairs.
    @param defaults: the options' defaults.
    @return: one line per port that fell back, to print at start.
    @raise usage.UsageError: a port given on the command line is taken, or
        two options name the same port.
    """
    notes, taken = [], set()
    for option, what in ports:
        port = options[option]
        if port in taken:
            raise usage.UsageError(f"--{option} {port}: another option names that port too;"
                                   " each part needs its own")
        if not isFree(port):
            if port != defaults[option]:
                raise usage.UsageError(f"--{option} {port}: 127.0.0.1:{port} is taken (another"
                                       f" program listens there); choose a free port for {what}")
            chosen = anyFreePort()
            while chosen in taken or chosen in (options[o] for o, _ in ports):
                chosen = anyFreePort()
            notes.append(f"127.0.0.1:{port} ({what}) is taken by another program: using"
                         f" 127.0.0.1:{chosen} instead (--{option} chooses one)")
            options[option] = port = chosen
        taken.add(port)
    return notes
