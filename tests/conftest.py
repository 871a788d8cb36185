"""Every layer: tests/support on the path, and the figures tests measured printed after the summary."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
# Ansible's and molecule's own files (temporary files, SSH control sockets, molecule's state) stay in the
# checkout: a copy of anything under ~/.ansible would be found by a later plain ansible-playbook
os.environ.setdefault("ANSIBLE_HOME", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                   ".build", "ansible-home"))
import figures  # noqa: E402  (tests/support is not a package)


def pytest_terminal_summary(terminalreporter):
    if figures.FIGURES:
        terminalreporter.section("figures measured by this run")
        for line in figures.FIGURES:
            terminalreporter.write_line(line)
