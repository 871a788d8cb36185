"""The exit's desired nftables listing is computed once per ruleset and nft binary, then read from /run."""

import os
import shutil
import stat

from ansible_collections.gridnet.tenant.plugins.module_utils.node import nftables

RULESET = """table inet gt_exit_cache {
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 10.60.0.0/16 oifname "gtu-cache" masquerade
\t}
}
"""


def counting_nft(directory):
    """An nft that counts its runs in a file and then is the real nft."""
    counter = os.path.join(directory, "runs")
    wrapper = os.path.join(directory, "nft")
    with open(wrapper, "w") as handle:
        handle.write("#!/bin/sh\necho run >> %s\nexec %s \"$@\"\n" % (counter, shutil.which("nft")))
    os.chmod(wrapper, stat.S_IRWXU)
    return wrapper, counter


def runs(counter):
    return len(open(counter).read().splitlines()) if os.path.exists(counter) else 0


def test_the_listing_is_kept_by_digest_and_computed_again_when_the_ruleset_or_nft_changes(tmp_path):
    nft, counter = counting_nft(str(tmp_path))
    cache = str(tmp_path / "cache")
    first = nftables.canonical(RULESET, "gt_exit_cache", nft, cache_dir=cache)
    assert runs(counter) == 2 and any("masquerade" in line for line in first)  # load, then list
    assert nftables.canonical(RULESET, "gt_exit_cache", nft, cache_dir=cache) == first
    assert runs(counter) == 2  # from the cache: no process at all
    changed = RULESET.replace("10.60.0.0/16", "10.61.0.0/16")
    assert any("10.61.0.0/16" in line for line in nftables.canonical(changed, "gt_exit_cache", nft, cache_dir=cache))
    assert runs(counter) == 4
    with open(nft, "a") as handle:  # another nft binary (an upgrade): its own listing form may differ
        handle.write("# upgraded\n")
    nftables.canonical(RULESET, "gt_exit_cache", nft, cache_dir=cache)
    assert runs(counter) == 6


def test_check_mode_keeps_no_listing(tmp_path):
    nft, counter = counting_nft(str(tmp_path))
    cache = str(tmp_path / "cache")
    listing = nftables.canonical(RULESET, "gt_exit_cache", nft, cache_dir=cache, keep=False)
    assert any("masquerade" in line for line in listing) and not os.path.exists(cache)
