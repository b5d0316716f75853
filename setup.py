"""
The one compiled part: mice.db._spans, the bytes of a signed span in C
(mice.db.signature.spanParts).  Optional: where it does not build, the same
bytes are made in Python, slower.  Everything else is in setup.cfg.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("mice.db._spans", ["mice/db/_spans.c"], optional=True,
                             extra_compile_args=["-O2"])])
