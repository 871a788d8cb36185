"""Real lab nodes for module tests: anchors in their own namespaces, cabled with veth.

Needs root. Every node a test starts is SIGKILLed at the end (its PID namespace
takes wireguard-go with it), whatever the outcome.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
# the fixture, from tests/support
from farm import farm  # noqa: E402,F401  pylint: disable=unused-import

if os.geteuid() != 0:
    pytest.exit("tests/netns builds network namespaces and needs root", returncode=1)
