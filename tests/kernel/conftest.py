"""tests/kernel: the kernel WireGuard back end on Debian's kernel, in a QEMU guest.

On this machine only test_kernel_layer.py runs: it boots the guest, which runs guest/ and reports back.
"""

import os

collect_ignore = [] if os.environ.get("GRIDNET_IN_GUEST") else ["guest"]
