# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pyroute2, only the parts the node modules use, for a module's start-up.

``import pyroute2`` runs the package's __init__, which imports every protocol
the library speaks (conntrack, ipset, nl80211, NDB, IPDB, plan9, ...): it cost
more than half of a no-op module's imports (docs/architecture.md, Start-up).
So the package is registered bare, with its path but without running its
__init__, and each submodule used here is imported alone. Anything asking the
bare package for a name only the __init__ defines (``from pyroute2 import
NDB`` elsewhere in the process) gets the whole package then, at that moment.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def _complete(package, spec):
    def __getattr__(name):
        # `from pyroute2 import config` asks the package first: a submodule is imported alone
        if importlib.util.find_spec("pyroute2." + name) is not None:
            return importlib.import_module("pyroute2." + name)
        del package.__getattr__  # a name of the __init__: run it once, then behave as the whole package
        spec.loader.exec_module(package)
        return getattr(package, name)
    return __getattr__


def _bare_package():
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'pyroute2'")
    package = importlib.util.module_from_spec(spec)
    package.__getattr__ = _complete(package, spec)
    sys.modules["pyroute2"] = package


try:
    _bare_package()
    from pyroute2 import netns  # noqa: F401 pylint: disable=unused-import
    from pyroute2.iproute.linux import IPRoute  # noqa: F401 pylint: disable=unused-import
    from pyroute2.netlink.exceptions import NetlinkError  # noqa: F401 pylint: disable=unused-import
    from pyroute2.netlink.generic.wireguard import WireGuard  # noqa: F401 pylint: disable=unused-import
    HAS_PYROUTE2 = True
except ImportError:  # reported by the modules through missing_required_lib
    IPRoute = WireGuard = netns = None
    NetlinkError = OSError
    HAS_PYROUTE2 = False


def version():
    """The installed pyroute2's version, or "unknown"."""
    try:
        from pyroute2.config.version import __version__
        return __version__
    except ImportError:
        try:
            from importlib.metadata import version as distribution_version
            return distribution_version("pyroute2")
        except Exception:  # no distribution metadata either
            return "unknown"
