from unittest import SkipTest


def requireHyperscan():
    """
    The C{hyperscan} module, for a test of the scans that need it.

    @raise SkipTest: when Hyperscan is not installed.
    """
    try:
        import hyperscan
    except ImportError:
        raise SkipTest("hyperscan is not installed") from None
    return hyperscan
