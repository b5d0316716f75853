"""
M-ICE: a modular, distributed host intrusion detection system, on Twisted.

Clients tail their logs and ship them to BufferDaemons that archive them, analyse
them and react.  See ``docs/`` and ``README.rst``.
"""

__version__ = "0.1.0"
