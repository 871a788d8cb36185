# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables for an exit: the ruleset of one network, compared and replaced whole.

One table (family inet) per network, inside the exit's namespace (a relay's
tables, relay.py, are handled the same way in their own families). It is
replaced in one nft transaction ("add; delete; define" in one file), so the
kernel never holds half of it.

Comparison goes through nft itself: the desired text is loaded into a
throw-away network namespace and listed back, which gives exactly the form in
which nft lists the live table, whatever nft version the node runs. Equal
listings mean nothing to do, so a re-run keeps every rule handle. That listing
is a pure function of the text and the nft binary, so it is kept under /run
(gone at a reboot) by their digest: a re-run does not pay the four processes
it takes again.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess

from ansible_collections.gridnet.tenant.plugins.module_utils.node import netns
from ansible_collections.gridnet.tenant.plugins.module_utils.common.errors import NodeError
from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic

CANONICAL_CACHE = "/run/gridnet-tenant/nft-canonical"

FAMILY = "inet"
NFPROTO = {"ip": 2, "ip6": 10, "inet": 1}  # a netlink dump is of one family
MISSING = ("No such file or directory", "does not exist")
EXIT_COUNTERS = ("to_internet", "from_internet", "nat", "port_forwards", "allowed_in", "dropped_in")


class NftError(NodeError):
    pass


def exit_ruleset(exit_plan):
    """The exit's table as nft input text.

    Inbound from the uplink: established and related traffic, port forwards
    and the IPv6 allow-list pass; everything else from outside is dropped.
    Mesh traffic (relayed between peers, never via the uplink) is not touched.
    """
    uplink = '"%s"' % exit_plan["uplink"]["name"]
    exit4 = (exit_plan["uplink"].get("ipv4") or {}).get("address")
    prerouting, postrouting = [], []
    forward = ["oifname %s counter name to_internet" % uplink,
               # our own block cannot come from outside
               "iifname %s ip6 saddr %s counter name dropped_in drop" % (uplink, exit_plan["block"]),
               "iifname %s ct state established,related counter name from_internet accept" % uplink]
    if exit4 and exit_plan.get("ipv4_subnets"):
        postrouting.append("oifname %s ip saddr { %s } counter name nat masquerade"
                           % (uplink, ", ".join(exit_plan["ipv4_subnets"])))
    if exit_plan.get("ipv6_nat"):
        postrouting.append("oifname %s ip6 saddr %s counter name nat masquerade" % (uplink, exit_plan["block"]))
    for rule in exit_plan.get("ipv4_dnat") or []:
        prerouting.append("iifname %s ip daddr %s %s dport %d dnat ip to %s:%d" % (
            uplink, exit4.split("/")[0], rule["proto"], rule["port"], rule["to"], rule["to_port"]))
    if exit_plan.get("ipv4_dnat"):
        forward.append("iifname %s ct status dnat counter name port_forwards accept" % uplink)
    for rule in exit_plan.get("ipv6_allow") or []:
        match = "%s dport %d" % (rule["proto"], rule["port"]) if rule.get("port") else "meta l4proto %s" % rule["proto"]
        forward.append("iifname %s ip6 daddr %s %s counter name allowed_in accept" % (uplink, rule["prefix"], match))
    forward.append("iifname %s counter name dropped_in drop" % uplink)
    # the namespace itself: neighbour discovery, ping and replies; nothing else from outside
    local = ["iifname %s ct state established,related accept" % uplink,
             "iifname %s meta l4proto { icmp, ipv6-icmp } accept" % uplink,
             "iifname %s drop" % uplink]
    chains = [
        ("prerouting", "type nat hook prerouting priority dstnat; policy accept;", prerouting),
        ("postrouting", "type nat hook postrouting priority srcnat; policy accept;", postrouting),
        ("forward", "type filter hook forward priority filter; policy accept;", forward),
        ("input", "type filter hook input priority filter; policy accept;", local),
    ]
    lines = ["table %s %s {" % (FAMILY, exit_plan["table"]),
             '\tcomment "gridnet.tenant exit of network %s"' % exit_plan["netid"].replace('"', "")]
    # named counters: the health view reads them (health.py); listings compare without their values (-s)
    lines += ["\tcounter %s {\n\t}" % name for name in EXIT_COUNTERS]
    for name, hook, rules in chains:
        lines += ["\tchain %s {" % name, "\t\t" + hook] + ["\t\t" + rule for rule in rules] + ["\t}"]
    return "\n".join(lines + ["}"]) + "\n"


def _run(nft, args, namespace, stdin=None):
    """nft with args, inside the network namespace `namespace` (forked from a thread that entered it),
    or in this process's own when namespace is None."""
    def run():
        return subprocess.run([nft] + args, input=stdin, capture_output=True, text=True, check=False)
    return run() if namespace is None else netns.run_inside(namespace, run)


def _lines(listing):
    return [line.strip() for line in listing.splitlines() if line.strip()]


def _cache_path(text, nft, cache_dir):
    binary = shutil.which(nft) or nft
    info = os.stat(binary)
    key = "%s\0%d\0%d\0%s" % (os.path.realpath(binary), info.st_size, int(info.st_mtime), text)
    return os.path.join(cache_dir, hashlib.sha256(key.encode("utf-8")).hexdigest())


def canonical(text, table, nft="nft", cache_dir=CANONICAL_CACHE, keep=True, family=FAMILY, terse=False):
    """How nft lists `text` once loaded (terse: without set elements): computed in a scratch namespace,
    touching nothing, and kept (unless keep is false: check mode leaves no file behind, not even a cache)."""
    path = _cache_path(("-t\0" if terse else "") + "-s\0" + text, nft, cache_dir)
    try:
        with open(path) as handle:
            return _lines(handle.read())
    except OSError:
        pass
    listing = _load_and_list(text, table, nft, family, terse)
    if not keep:
        return listing
    try:
        write_atomic(path, ("\n".join(listing) + "\n").encode("utf-8"), mode=0o600, dir_mode=0o700)
    except OSError:  # a cache: a node where it cannot be written computes again next time
        pass
    return listing


def _load_and_list(text, table, nft, family, terse):
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", '"$0" -f - && "$0" -s $3 list table "$1" "$2"', nft, family, table,
         "-t" if terse else ""],
        input=text, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NftError("nft refuses the ruleset of table %s: %s" % (table, result.stderr.strip()))
    return _lines(result.stdout)


def read(namespace, table, nft="nft", family=FAMILY, terse=False):
    """The live table's listing as lines (terse: without set elements; never counters' values), or None when
    there is none."""
    result = _run(nft, ["-s"] + (["-t"] if terse else []) + ["list", "table", family, table], namespace)
    if result.returncode != 0:
        if any(m in result.stderr for m in MISSING):
            return None
        raise NftError("nft list table %s in %s: %s" % (table, namespace, result.stderr.strip()))
    return _lines(result.stdout)


def replace(namespace, text, table, nft="nft", family=FAMILY):
    """Swap the whole table in one transaction (creating it first makes the delete always valid)."""
    script = "table %s %s\ndelete table %s %s\n%s" % (family, table, family, table, text)
    result = _run(nft, ["-f", "-"], namespace, stdin=script)
    if result.returncode != 0:
        raise NftError("replacing table %s in %s: %s" % (table, namespace, result.stderr.strip()))


def delete(namespace, table, nft="nft", family=FAMILY):
    result = _run(nft, ["delete", "table", family, table], namespace)
    if result.returncode != 0 and not any(m in result.stderr for m in MISSING):
        raise NftError("deleting table %s in %s: %s" % (table, namespace, result.stderr.strip()))


def dump(what, families=tuple(NFPROTO)):
    """[(family, message)] of the nftables `tables` or `chains` of this process's network namespace, read over
    netlink: no nft process. A kernel without nf_tables has none."""
    from pyroute2.nftables.main import NFTables  # only here: a node that needs no table never loads it

    found = []
    for family in families:
        try:
            nfnl = NFTables(nfgen_family=NFPROTO[family])
        except OSError as exc:
            if exc.errno == errno.EPROTONOSUPPORT:
                return []
            raise
        with nfnl:
            found += [(family, message) for message in getattr(nfnl, "get_" + what)()]
    return found


def tables(families=tuple(NFPROTO)):
    """{(family, name): handle} of the tables of this namespace (a table made again has a new handle)."""
    return {(family, table.get_attr("NFTA_TABLE_NAME")): table.get_attr("NFTA_TABLE_HANDLE")
            for family, table in dump("tables", families)}
