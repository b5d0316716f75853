"""
The project's reStructuredText documents (C{README.rst}, C{docs/*.rst})
parse cleanly with docutils: a simple table whose cell runs into the column
margin, or a paragraph continued at another indentation, is an error
docutils reports while the renderer (PyPI's, GitHub's) quietly shows a
broken page instead.
"""

import glob
import io
import os

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests import ROOT

try:
    import docutils.core
except ImportError:
    docutils = None

#: The documents checked: the README and every document of C{docs/}.
DOCUMENTS = [os.path.join(ROOT, "README.rst")] + sorted(
    glob.glob(os.path.join(ROOT, "docs", "*.rst")))


def requireDocutils():
    """
    Skip when docutils is missing (C{pip install -e '.[test]'} brings it),
    except under CI, which must not pass by checking nothing.
    """
    if docutils is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("docutils is not installed: CI must check the documents"
                                 " (it is in the test extra of setup.cfg)")
        raise SkipTest("docutils is not installed (pip install -e '.[test]')")


def problems(text, name="<string>"):
    """
    The messages of level WARNING or above docutils reports on parsing
    C{text}, as one string (empty when there are none).

    Code blocks are not highlighted (C{syntax_highlight: none}): whether
    Pygments is installed says nothing about the document, and without it
    every C{.. code::} block would warn.

    @param text: a reStructuredText document.
    @param name: the document's name in the messages.
    """
    stream = io.StringIO()
    docutils.core.publish_doctree(
        text, source_path=name,
        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream,
                            "syntax_highlight": "none", "file_insertion_enabled": False,
                            "raw_enabled": False, "_disable_config": True})
    return stream.getvalue()


class DocumentsParseTests(SynchronousTestCase):
    def setUp(self):
        requireDocutils()

    def test_found(self):
        """
        The documents are found (a test that checked none would prove
        nothing).
        """
        names = [os.path.relpath(path, ROOT) for path in DOCUMENTS]
        self.assertIn("README.rst", names)
        self.assertIn(os.path.join("docs", "architecture.rst"), names)
        self.assertGreaterEqual(len(names), 20)

    def test_parseCleanly(self):
        """
        Every document parses with no message of level WARNING or above:
        no malformed table, unexpected indentation, unterminated inline
        markup or unknown reference.
        """
        found = []
        for path in DOCUMENTS:
            name = os.path.relpath(path, ROOT)
            with open(path, encoding="utf-8") as f:
                messages = problems(f.read(), name)
            if messages:
                found.append(f"{name}:\n{messages}")
        if found:
            self.fail("documents that do not parse cleanly:\n\n" + "\n".join(found))

    def test_badDocumentFound(self):
        """
        The check fails on a table whose cell runs into the column margin
        and on a paragraph continued at another indentation.
        """
        table = ("=====  =====\n"
                 "term   what\n"
                 "=====  =====\n"
                 "longer text\n"
                 "=====  =====\n")
        self.assertIn("Malformed table", problems(table))
        self.assertIn("Unexpected indentation", problems("A paragraph\ncontinued\n    further in.\n"))
        self.assertEqual(problems("A paragraph::\n\n    a literal block\n"), "")
