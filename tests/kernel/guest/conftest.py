"""Guest side: lab nodes inside the QEMU guest (root there)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
# the fixture
from farm import farm  # noqa: E402,F401  pylint: disable=unused-import
