"""Guest side: lab nodes inside the QEMU guest (root there)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
from farm import Farm  # noqa: E402


@pytest.fixture
def farm():
    f = Farm()
    try:
        yield f
    finally:
        f.stop()
