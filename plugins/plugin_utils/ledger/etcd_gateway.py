# -*- coding: utf-8 -*-
# Copyright: (c) 2026, gridnet.tenant contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""etcd's v3 JSON gateway, spoken with the standard library (docs/ledger.md says why).

Only what the ledger needs: range, transactions, leases. Keys and values are
bytes (base64 on the wire). Each request tries the endpoints in turn from the
one that answered last, so a dead member costs one connection attempt; when
none answers, the error names every endpoint and what each said.
"""

from __future__ import annotations

import base64
import json
import urllib.error

from ansible.module_utils.urls import ConnectionError as URLConnectionError, open_url

from ansible_collections.gridnet.tenant.plugins.plugin_utils.plan.errors import PlanError

REQUEST_TIMEOUT = 5  # seconds: a member without quorum holds a request this long before we try the next


class EtcdError(PlanError):
    pass


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    return base64.b64decode(text or "")


class Gateway(object):
    """A client of one etcd cluster. endpoints: ["http(s)://host:port", ...]."""

    def __init__(self, endpoints, ca=None, cert=None, key=None, user=None, password=None,
                 timeout=REQUEST_TIMEOUT):
        if not endpoints:
            raise EtcdError("etcd: no endpoints given")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.timeout, self.token, self.first = timeout, None, 0
        self.tls = {"ca_path": ca, "client_cert": cert, "client_key": key}
        if user:
            self.token = self.call("/v3/auth/authenticate", {"name": user, "password": password or ""})["token"]

    def call(self, path, body):
        """POST body to path on the first endpoint that answers; its JSON reply."""
        data = json.dumps(body).encode("utf-8")
        failures = []
        count = len(self.endpoints)
        for step in range(count):
            at = (self.first + step) % count
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = self.token
            try:
                with open_url(self.endpoints[at] + path, data=data, headers=headers, method="POST",
                              timeout=self.timeout, **self.tls) as reply:
                    answer = json.loads(reply.read().decode("utf-8") or "{}")
            except urllib.error.HTTPError as exc:  # the member answered: its error is the cluster's
                detail = exc.read().decode("utf-8", errors="replace")
                if exc.code >= 500:  # no quorum behind this member (say): another may have it
                    failures.append("%s: %s" % (self.endpoints[at], detail.strip()))
                    continue
                raise EtcdError("etcd %s%s: %s" % (self.endpoints[at], path, detail.strip()))
            except (OSError, ValueError, URLConnectionError) as exc:  # refused, timed out, TLS, not JSON
                failures.append("%s: %s" % (self.endpoints[at], getattr(exc, "reason", exc)))
                continue
            if "error" in answer and "code" in answer:
                raise EtcdError("etcd %s%s: %s" % (self.endpoints[at], path, answer["error"]))
            self.first = at
            return answer
        raise EtcdError("etcd: no endpoint could serve %s (%s)" % (path, "; ".join(failures)))

    def get_prefix(self, prefix, page=64):
        """({key: (value, mod_revision)} of every key under prefix, the revision they were read at).

        Read in pages of `page` keys, all at the revision of the first: one consistent view, and no
        answer grows with the number of keys.
        """
        found, start, revision = {}, prefix, 0
        while True:
            body = {"key": b64(start), "range_end": b64(prefix_end(prefix)), "limit": page}
            if revision:
                body["revision"] = str(revision)
            answer = self.call("/v3/kv/range", body)
            revision = revision or int(answer.get("header", {}).get("revision", 0))
            kvs = answer.get("kvs") or []
            for kv in kvs:
                found[unb64(kv["key"])] = (unb64(kv.get("value")), int(kv.get("mod_revision", 0)))
            if not answer.get("more") or not kvs:
                return found, revision
            start = unb64(kvs[-1]["key"]) + b"\0"

    def txn(self, compare, success):
        """Apply success (a list of request_put / request_delete_range) if every compare holds; True if so."""
        return bool(self.call("/v3/kv/txn", {"compare": compare, "success": success}).get("succeeded"))

    def grant(self, ttl):
        return self.call("/v3/lease/grant", {"TTL": int(ttl)})["ID"]

    def keepalive(self, lease):
        self.call("/v3/lease/keepalive", {"ID": lease})

    def revoke(self, lease):
        self.call("/v3/lease/revoke", {"ID": lease})


def put(key, value, lease=None):
    request = {"key": b64(key), "value": b64(value)}
    if lease is not None:
        request["lease"] = lease
    return {"request_put": request}


def delete(key):
    return {"request_delete_range": {"key": b64(key)}}


def delete_prefix(prefix):
    return {"request_delete_range": {"key": b64(prefix), "range_end": b64(prefix_end(prefix))}}


def prefix_end(prefix):
    """The range end that covers every key starting with prefix (etcd's own rule: last byte plus one)."""
    end = bytearray(prefix)
    while end and end[-1] == 0xFF:
        end.pop()
    if not end:
        return b"\0"
    end[-1] += 1
    return bytes(end)


def unchanged_since(key, mod_revision):
    """A compare: key was last written at mod_revision (0: key does not exist)."""
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}


def value_is(key, value):
    return {"key": b64(key), "target": "VALUE", "result": "EQUAL", "value": b64(value)}
