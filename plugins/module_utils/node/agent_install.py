# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installing the node agent: its code, its launcher, and who runs it.

The agent runs the collection's own converge code, so its code is the very
module_utils this module was shipped with (Ansible bundles every module_utils
file the module imports; agent.py imports all that a converge needs). They are
written under AGENT_DIR with a launcher that runs them with this Python.

Who runs it: systemd where it is the init (a unit enabled at boot, restarted
when it dies), otherwise the agent is started detached (its own session, no
descriptors of ours) and the node's own boot must start it again (the lab does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent, netns, options
from ansible_collections.gridnet.tenant.plugins.module_utils.common.files import write_atomic
from ansible_collections.gridnet.tenant.plugins.module_utils.node.convergence import Change
from ansible_collections.gridnet.tenant.plugins.module_utils.node.wireguard_go import INOTIFY_SYSCTL

AGENT_DIR = options.AGENT_DIR
LAUNCHER = "gridnet-tenant-agent"
UNIT_PATH = "/etc/systemd/system/gridnet-tenant-agent.service"
LOG_PATH = "/run/gridnet-tenant/agent.log"
PACKAGE = "ansible_collections.gridnet.tenant.plugins.module_utils"

_LAUNCHER = """#!{python}
# The gridnet.tenant node agent, installed by gridnet.tenant.node_agent (docs/node-agent.md).
import sys
sys.path.insert(0, {lib!r})
from ansible_collections.gridnet.tenant.plugins.module_utils.node import agent
sys.exit(agent.main(sys.argv[1:]))
"""

_UNIT = """# Installed by gridnet.tenant.node_agent (docs/node-agent.md).
[Unit]
Description=gridnet.tenant node agent: re-applies recorded tenant networks, restores dead links
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart={launcher} {arguments}
Restart=always
RestartSec=2
# wireguard-go processes it starts serve links; restarting the agent must not take them down
KillMode=process

[Install]
WantedBy=multi-user.target
"""


def code_files():
    """{relative path: source bytes} of every module_utils module this process has loaded, packages (parts/)
    as their __init__.py, and an __init__.py in every folder above them, up to ansible_collections/."""
    files = {}
    for name, module in sorted(sys.modules.items()):
        if not name.startswith(PACKAGE + ".") or module is None:
            continue
        source = module.__loader__.get_source(name) or ""
        parts = name.split(".")
        path = os.path.join(*(parts + ["__init__.py"])) if hasattr(module, "__path__") \
            else os.path.join(*parts) + ".py"
        files[path] = source.encode("utf-8")
    for path in list(files):
        folder = os.path.dirname(path)
        while os.path.dirname(folder):  # ansible_collections/ itself is a namespace: no __init__.py
            files.setdefault(os.path.join(folder, "__init__.py"), b"")
            folder = os.path.dirname(folder)
    return files


def desired_files(agent_dir, python, arguments, systemd):
    lib = os.path.join(agent_dir, "lib")
    launcher = os.path.join(agent_dir, LAUNCHER)
    files = {os.path.join(lib, path): (data, 0o600) for path, data in code_files().items()}
    files[launcher] = (_LAUNCHER.format(python=python, lib=lib).encode(), 0o700)
    if systemd:
        files[UNIT_PATH] = (_UNIT.format(launcher=launcher, arguments=" ".join(arguments)).encode(), 0o644)
    return files


def _current(path):
    try:
        with open(path, "rb") as handle:
            return handle.read(), os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def has_systemd():
    return os.path.isdir("/run/systemd/system")


def start_detached(launcher, arguments):
    """Start `launcher run ...` in its own session, its output to LOG_PATH; it outlives the caller."""
    os.makedirs(os.path.dirname(LOG_PATH), mode=0o700, exist_ok=True)
    with open(LOG_PATH, "ab") as log:
        subprocess.Popen([launcher] + arguments, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log, close_fds=True, start_new_session=True, cwd="/")
    deadline = time.monotonic() + 10
    while agent.running_pid() is None:
        if time.monotonic() > deadline:
            raise OSError("the agent did not start; see %s" % LOG_PATH)
        time.sleep(0.02)


def stop_running(timeout=10):
    pid = agent.running_pid()
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while agent.running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.02)


def _systemctl(*argv):
    subprocess.run(["systemctl"] + list(argv), check=True, capture_output=True)


SYSCTL_CONF = "/etc/sysctl.d/60-gridnet-tenant.conf"


def inotify_changes(minimum):
    """Raise fs.inotify.max_user_instances to at least `minimum`, now and at boot; never lower it."""
    current = int(netns.read_sysctls([INOTIFY_SYSCTL])[INOTIFY_SYSCTL])
    out = []
    if current < minimum:
        out.append(Change("raise %s from %d to %d" % (INOTIFY_SYSCTL, current, minimum),
                          lambda: netns.write_sysctls({INOTIFY_SYSCTL: minimum})))
    line = ("# Installed by gridnet.tenant.node_agent: one inotify instance per wireguard-go link\n"
            "%s = %d\n" % (INOTIFY_SYSCTL, max(current, minimum))).encode()
    if _current(SYSCTL_CONF) != (line, 0o644):
        out.append(Change("write %s" % SYSCTL_CONF, lambda: write_atomic(SYSCTL_CONF, line, mode=0o644, dir_mode=0o755)))
    return out


APPLY_ERRORS = (OSError, subprocess.CalledProcessError)  # what applying these changes may raise


def node_changes(state, params):
    """What the node needs for the agent, in order: the inotify limit first when one is asked for (and the agent
    is wanted), then the agent itself (changes()). params: the agent options (options.AGENT_OPTIONS)."""
    arguments = agent.run_arguments(params["interval"], params["metrics_dir"], params["metrics_interval"])
    out = changes(state, params["agent_dir"], arguments=arguments, supervisor=params["supervisor"])
    if params.get("inotify_max_user_instances") and state == "present":
        out = inotify_changes(params["inotify_max_user_instances"]) + out
    return out


def changes(state, agent_dir=AGENT_DIR, python=None, arguments=("run",), supervisor="auto"):
    """The Changes that install (or remove) the agent and leave it running (or stopped)."""
    systemd = supervisor == "systemd" or (supervisor == "auto" and has_systemd())
    launcher = os.path.join(agent_dir, LAUNCHER)
    out = []
    if state == "absent":
        if systemd and os.path.exists(UNIT_PATH):
            out.append(Change("disable and remove %s" % UNIT_PATH, lambda: (
                _systemctl("disable", "--now", os.path.basename(UNIT_PATH)), os.unlink(UNIT_PATH),
                _systemctl("daemon-reload"))))
        if agent.running_pid() is not None:
            out.append(Change("stop the agent (pid %s)" % agent.running_pid(), stop_running))
        if os.path.exists(agent_dir):
            out.append(Change("remove %s" % agent_dir, lambda: subprocess.run(["rm", "-rf", agent_dir], check=True)))
        return out
    arguments = list(arguments)
    wanted = desired_files(agent_dir, python or sys.executable, arguments, systemd)
    stale = sorted(path for path, spec in wanted.items() if _current(path) != spec)
    for path in stale:
        out.append(Change("write %s" % path, lambda path=path: write_atomic(
            path, wanted[path][0], mode=wanted[path][1], dir_mode=0o700)))
    if systemd:
        if stale:
            out.append(Change("enable and (re)start %s" % os.path.basename(UNIT_PATH), lambda: (
                _systemctl("daemon-reload"), _systemctl("enable", os.path.basename(UNIT_PATH)),
                _systemctl("restart", os.path.basename(UNIT_PATH)))))
    elif supervisor != "none":
        if stale and agent.running_pid() is not None:
            out.append(Change("stop the agent running old code (pid %s)" % agent.running_pid(), stop_running))
        if stale or agent.running_pid() is None:
            out.append(Change("start the agent detached", lambda: start_detached(launcher, arguments)))
    return out
