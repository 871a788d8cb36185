# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The buffers of another process's UDP sockets, read and raised through pidfd_getfd(2).

wireguard-go before 0.0.20230223 (Debian 12 ships 0.0.20220316) leaves its
UDP sockets at the kernel's default buffers (net.core.rmem_default, 208 KiB).
A burst at a few hundred Mbit/s overflows the receive buffer: the datagrams
are dropped (UdpRcvbufErrors) and TCP inside the tunnel retransmits; in the
lab one segment in ten. Later wireguard-go raises both buffers to 7 MiB with
SO_RCVBUFFORCE/SO_SNDBUFFORCE itself; we do the same on its sockets from
outside, so nothing else on the node changes (no sysctl).

pidfd_getfd needs Linux 5.6 and the right to ptrace the process (root has it
unless Yama's ptrace_scope is 3); where it is refused, the buffers are left
as they are.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket

SIZE = 7 << 20  # what wireguard-go itself sets from 0.0.20230223 on
_PIDFD_GETFD = 438  # one number on every architecture (the shared syscall table, Linux 5.6)
_SO_SNDBUFFORCE, _SO_RCVBUFFORCE = 32, 33
_libc = None


def _getfd(pidfd, fd):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    mine = _libc.syscall(_PIDFD_GETFD, pidfd, fd, 0)
    if mine < 0:
        number = ctypes.get_errno()
        raise OSError(number, "pidfd_getfd: %s" % os.strerror(number))
    return mine


def _udp_sockets(pid):
    """Copies of pid's UDP sockets (the caller closes them). OSError when they cannot be reached."""
    found = []
    pidfd = os.pidfd_open(pid)
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                    continue
            except OSError:
                continue  # closed meanwhile
            try:
                mine = _getfd(pidfd, int(fd))
            except OSError as exc:
                if exc.errno == errno.EBADF:  # closed since the listing (a UAPI connection, say)
                    continue
                raise
            try:
                copy = socket.socket(fileno=mine)
            except OSError:  # the number was reused for something else meanwhile
                os.close(mine)
                continue
            if copy.type == socket.SOCK_DGRAM and copy.family in (socket.AF_INET, socket.AF_INET6):
                found.append(copy)
            else:
                copy.close()
    except BaseException:
        for copy in found:
            copy.close()
        raise
    finally:
        os.close(pidfd)
    return found


def smallest(pid):
    """The smallest buffer (bytes, as asked for) of pid's UDP sockets; None when it has none yet.

    The kernel keeps twice what was asked for (for its bookkeeping); halved here.
    """
    sizes = []
    for copy in _udp_sockets(pid):
        with copy:
            sizes += [copy.getsockopt(socket.SOL_SOCKET, option) // 2
                      for option in (socket.SO_RCVBUF, socket.SO_SNDBUF)]
    return min(sizes) if sizes else None


def raise_to(pid, size=SIZE):
    """Set both buffers of every UDP socket of pid to `size`; how many sockets were set."""
    count = 0
    for copy in _udp_sockets(pid):
        with copy:
            copy.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
            copy.setsockopt(socket.SOL_SOCKET, _SO_SNDBUFFORCE, size)
            count += 1
    return count
