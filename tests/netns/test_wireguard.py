"""The WireGuard back-end contract on wireguard-go (the kernel runs the same one in tests/kernel)."""

from contract import run_contract


def test_userspace_backend_keeps_the_contract():
    run_contract("userspace", "gridnet-tests")
