"""
The compiled parts, both optional: where one does not build, the same is
done in Python, slower.

- mice.db._spans, the bytes of a signed span in C
  (mice.db.signature.spanParts).
- mice.analysis._hsscan, Hyperscan scans gathering their reports in C
  (mice.analysis.aaregex.HyperscanPatterns.linesOf), built only where
  libhs's headers are (Debian's libhyperscan-dev).
- mice.analysis._fieldre, the LogIDS blocks' fields regexes run by PCRE2
  (mice.analysis.fieldregex.groupsFunction), built only where pcre2.h is
  (Debian's libpcre2-dev).

Everything else is in setup.cfg.
"""

import os
import shutil
import subprocess

from setuptools import Extension, setup


def _hyperscanIncludes():
    """
    The include directories of libhs (from pkg-config, else Debian's
    /usr/include/hs), or C{None} where its hs.h is not there.
    """
    directories = []
    if shutil.which("pkg-config"):
        try:
            flags = subprocess.run(["pkg-config", "--cflags", "libhs"], capture_output=True,
                                   text=True, check=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            flags = []
        directories = [flag[2:] for flag in flags if flag.startswith("-I")]
    if not directories:
        directories = ["/usr/include/hs"]
    if not any(os.path.exists(os.path.join(d, "hs.h")) for d in directories):
        return None
    return directories


def _pcre2Includes():
    """
    The include directories of libpcre2-8 (from pkg-config, else
    /usr/include), or C{None} where its pcre2.h is not there.
    """
    directories = []
    if shutil.which("pkg-config"):
        try:
            flags = subprocess.run(["pkg-config", "--cflags", "libpcre2-8"],
                                   capture_output=True, text=True, check=True).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            flags = []
        directories = [flag[2:] for flag in flags if flag.startswith("-I")]
    if not any(os.path.exists(os.path.join(d, "pcre2.h")) for d in directories + ["/usr/include"]):
        return None
    return directories


extensions = [Extension("mice.db._spans", ["mice/db/_spans.c"], optional=True,
                        extra_compile_args=["-O2"])]
_includes = _hyperscanIncludes()
if _includes is not None:
    extensions.append(Extension("mice.analysis._hsscan", ["mice/analysis/_hsscan.c"],
                                optional=True, include_dirs=_includes, libraries=["hs"],
                                extra_compile_args=["-O2"]))

_includes = _pcre2Includes()
if _includes is not None:
    extensions.append(Extension("mice.analysis._fieldre", ["mice/analysis/_fieldre.c"],
                                optional=True, include_dirs=_includes, libraries=["pcre2-8"],
                                extra_compile_args=["-O2"]))

setup(ext_modules=extensions)
