"""Every layer: tests/support on the path, and the figures tests measured printed after the summary."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
import figures  # noqa: E402  (tests/support is not a package)


def pytest_terminal_summary(terminalreporter):
    if figures.FIGURES:
        terminalreporter.section("figures measured by this run")
        for line in figures.FIGURES:
            terminalreporter.write_line(line)
