"""Deterministic generator of realistic KubeArmor / AccuKnox events.

Consumes a seed, a start time and a rate; produces plain ``dict`` events:

* :func:`generate_events` – alert rows in the **SaaS-enriched** shape the
  AccuKnox alerts API is expected to return (PascalCase KubeArmor keys sorted
  alphabetically, plus ``cluster_id``, ``tenant_id``, ``component_name``,
  ``instanceGroup``, ``instanceID``, ``workload``, a unique 64-hex ``HashID``,
  ``UpdatedTime`` with microseconds). Every alert ``Type`` × ``Operation`` pair
  in :data:`ALERT_COVERAGE` occurs, with the ``Resource``/``Data`` grammars of
  ``docs/event-schema.md`` section 7 (SYS_CONNECT sockaddr in random key order,
  tcp_connect/tcp_accept incl. IPv6, old comma and new UDP_SENDSKB DNS forms,
  SYS_SOCKET, AF_UNIX, BPF-LSM ``SOCKET_*``, presets, USB, NetworkFirewall,
  AlertThreshold, ...).
* :func:`generate_logs` – ``ContainerLog``/``HostLog`` telemetry in the
  relay's PascalCase shape (proto key order, ``omitempty``), for benchmarks;
  the SaaS API never returns these.
* :class:`LiveEventSource` – a clock-driven feed for the emulator's live mode.

Used by the emulator (``integrations.emulator.server``), tests and benchmarks.
Same arguments, same output, on any machine: all randomness comes from
``random.Random`` instances seeded with strings (SHA-512 seeding, independent of
``PYTHONHASHSEED``). Speed comes from precomputed pools: each (scenario,
workload, variant) combination is rendered once into a sorted template dict;
per event only the times, PIDs, ``HashID`` and nested objects are renewed.
None of the values is real telemetry.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any, Callable, Collection, Dict, Iterator, List, Optional, Sequence, Tuple

from integrations.emulator.scenarios import (
    ALERT_COVERAGE,
    APPS,
    FLAVOURS,
    LOG_COVERAGE,
    LOG_SCENARIOS,
    SCENARIOS,
    USERS,
    Ctx,
    rand_alnum,
    rand_hex,
)
from integrations.model import KUBEARMOR_FIELDS

__all__ = [
    "ALERT_COVERAGE",
    "LOG_COVERAGE",
    "DEFAULT_CLUSTERS",
    "DEFAULT_TENANT",
    "SCENARIOS",
    "LiveEventSource",
    "generate_events",
    "generate_logs",
]

DEFAULT_CLUSTERS: Tuple[str, ...] = ("3896", "4291", "16402")
DEFAULT_TENANT = "11"
_VARIANTS = 6  # rendered variants per (scenario, workload)
_TABLE = 4096  # size of the weighted scenario lookup table
_ALERT_ONLY = ("PolicyName", "Severity", "Tags", "ATags", "Message", "Enforcer", "Action", "KubeArmorVersion",
               "MaxAlertsPerSec", "DroppingAlertsInterval")
_PROTO_ORDER = {k: i for i, k in enumerate(KUBEARMOR_FIELDS)}


# --------------------------------------------------------------------------- the world

_APP_UIDS = {"mysql": 999, "redis": 999, "vault": 100, "wordpress": 33, "dvwa-web": 33, "prometheus-k8s": 65534,
             "elasticsearch-es-default": 1000, "payments-api": 10001}


class _World:
    """Clusters, nodes, pods and hosts derived from (seed, clusters, tenant); immutable once built."""

    def __init__(self, seed: int, clusters: Tuple[str, ...], tenant_id: str) -> None:
        self.seed = seed
        # rendered templates, shared by every generator over this world (bounded by
        # scenarios x contexts x variants)
        self.alert_templates: Dict[int, _Template] = {}
        self.log_templates: Dict[Tuple[int, int, int, bool], _Template] = {}
        self.pods: List[Ctx] = []
        self.hosts: List[Ctx] = []
        for ci, cluster_id in enumerate(clusters):
            self._cluster(seed, ci, str(cluster_id), tenant_id)
        if not self.pods or not self.hosts:
            raise ValueError("clusters: at least one cluster id is required")

    def _cluster(self, seed: int, ci: int, cluster_id: str, tenant_id: str) -> None:
        rng = random.Random(f"world|{seed}|{cluster_id}")  # noqa: S311 - synthetic data, not crypto
        flavour = FLAVOURS[rng.randrange(len(FLAVOURS))]
        cname = "default" if rng.random() < 0.7 else rng.choice(("prod-eks", "aditya", "d3mo", "k3sn0d3", "0-trust"))
        keep_empty = ci % 2 == 0  # SaaS exports differ: some keep "" / null fields, some omit them
        if flavour == "k3s":
            pod_net, svc_net, dns = "10.42.0.", "10.43.", "10.43.0.10"
            shim = f"/var/lib/rancher/k3s/data/{rand_hex(rng, 64)}/bin/containerd-shim-runc-v2"
        else:
            pod_net, svc_net, dns = f"10.244.{rng.randrange(0, 8)}.", "10.96.", "10.96.0.10"
            shim = ("/x86_64-bottlerocket-linux-gnu/sys-root/usr/bin/containerd-shim-runc-v2"
                    if flavour == "eks" and rng.random() < 0.5 else "/usr/bin/containerd-shim-runc-v2")
        nodes = []
        for ni in range(rng.randrange(3, 6)):
            if flavour == "eks":
                name = f"ip-10-0-{rng.randrange(1, 4)}-{rng.randrange(2, 250)}"
            elif flavour == "aks":
                name = f"aks-agentpool-{rng.randrange(10**7, 10**8)}-vmss{ni:06d}"
            elif flavour == "gke":
                name = f"gke-c{cluster_id}-default-pool-{rand_hex(rng, 8)}-{rand_alnum(rng, 4)}"
            elif flavour == "k3s":
                name = "master-node" if ni == 0 else f"k3s-worker-{ni:02d}"
            else:
                name = f"worker-node{ni:02d}"
            nodes.append((name, rand_hex(rng, 64 if rng.random() < 0.5 else 32), f"192.168.{ci % 200 + 10}.{10 + ni}"))
        saas = {"cluster_id": cluster_id, "tenant_id": tenant_id, "component_name": "kubearmor",
                "instanceGroup": "0", "instanceID": "0", "workload": "1"}
        for ai in rng.sample(range(len(APPS)), k=rng.randrange(9, 14)):
            ns, ref, oname, cont, image, labels, main, main_cmd, shell = APPS[ai]
            digest = rand_hex(random.Random(f"digest|{image}"), 64)  # noqa: S311 - same image, same digest
            replicas = 1 if ref == "Pod" else rng.randrange(1, 4)
            rs = rand_alnum(rng, rng.choice((9, 10)))
            for r in range(replicas):
                if ref == "Deployment":
                    pod = f"{oname}-{rs}-{rand_alnum(rng, 5)}"
                elif ref == "StatefulSet":
                    pod = f"{oname}-{r}"
                elif ref == "Pod":
                    pod = oname
                else:
                    pod = f"{oname}-{rand_alnum(rng, 5)}"
                x = rng.random()
                img = (f"{image}@sha256:{digest}" if x < 0.7 else
                       image if x < 0.95 else f"{image.rsplit(':', 1)[0]}@sha256:{digest}")
                lab = labels.replace(",", " ") if rng.random() < 0.1 else labels  # SaaS space-joined labels
                node, node_id, node_ip = nodes[rng.randrange(len(nodes))]
                owner = ({"Name": pod, "Namespace": ns, "Ref": "Pod"} if ref == "Pod" else
                         {"Name": oname, "Namespace": ns, "Ref": ref})
                if rng.random() < 0.05:
                    owner = {"Name": "", "Namespace": "", "Ref": ""}  # seen in SaaS rows
                fields = {"ClusterName": cname, "HostName": node, "NamespaceName": ns, "Owner": owner,
                          "PodName": pod, "Labels": lab, "ContainerID": rand_hex(rng, 64), "ContainerName": cont,
                          "ContainerImage": img, **saas}
                if rng.random() < 0.1:
                    fields["NodeID"] = node_id
                self.pods.append(Ctx(host=False, fields=fields, shell=shell, main=main, main_cmd=main_cmd,
                                      app=oname.replace("-deployment", ""), ns=ns, pod_net=pod_net,
                                      svc_net=svc_net, dns_ip=dns, shim=shim, user=None,
                                      uid=_APP_UIDS.get(oname, 0), node_ip=node_ip, keep_empty=keep_empty))
        for node, node_id, node_ip in nodes:
            user, uid = USERS[rng.randrange(len(USERS))]
            fields = {"ClusterName": cname, "HostName": node, "NodeID": node_id, **saas}
            self.hosts.append(Ctx(host=True, fields=fields, shell=rng.choice(("/usr/bin/bash", "/bin/bash", "zsh")),
                                   main="/usr/bin/kubelet",
                                   main_cmd="/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml",
                                   app="host", ns="", pod_net=pod_net, svc_net=svc_net, dns_ip="127.0.0.53",
                                   shim="/usr/lib/systemd/systemd", user=user, uid=uid, node_ip=node_ip,
                                   keep_empty=keep_empty))


_WORLDS: Dict[Tuple[int, Tuple[str, ...], str], _World] = {}


def _world(seed: int, clusters: Sequence[str], tenant_id: str) -> _World:
    key = (seed, tuple(str(c) for c in clusters), str(tenant_id))
    world = _WORLDS.get(key)
    if world is None:
        if len(_WORLDS) > 32:  # bounded cache
            _WORLDS.clear()
        world = _WORLDS[key] = _World(*key)
    return world


# --------------------------------------------------------------------------- templates

# pid modes: 0 = no pids (SystemEvent, Device, NetworkFirewall), 1 = container, 2 = host
_Template = Tuple[Dict[str, Any], Tuple[str, ...], int, bool, bool]


def _finish(ev: Dict[str, Any], keep_empty: bool, keep_always: Collection[str]) -> None:
    """Apply the SaaS empty-value style: keep "" / null, or drop them (omitempty)."""
    if keep_empty:
        for k in ("Message", "Severity", "Tags"):
            ev.setdefault(k, "")
        ev.setdefault("ATags", None)
    else:
        for k in [k for k, v in ev.items() if (v == "" or v is None) and k not in keep_always]:
            del ev[k]


def _alert_template(world: _World, si: int, ci: int, vi: int) -> _Template:
    name, typ, op, _w, host, builder = SCENARIOS[si]
    ctx = (world.hosts if host else world.pods)[ci]
    rng = random.Random(f"alert|{world.seed}|{name}|{ci}|{vi}")  # noqa: S311 - synthetic data
    d = builder(rng, ctx)
    ev: Dict[str, Any] = dict(ctx.fields)
    pid_mode = 0 if op in ("AlertThreshold", "Device", "NetworkFirewall") else (2 if host else 1)
    if host and pid_mode:
        if rng.random() < 0.6:
            ev["UserName"] = ctx.user
        ev["UID"] = ctx.uid
    elif pid_mode:
        ev["UID"] = ctx.uid if rng.random() < 0.8 else 0
    ev.update(d)
    if ev.get("ATags") and rng.random() < 0.7:
        ev["ATags"] = None  # most SaaS rows carry Tags but a null or missing ATags
    ev["Type"] = typ
    ev["Operation"] = op
    ev.update({"Timestamp": 0, "UpdatedTime": "", "HashID": ""})
    if pid_mode:
        ev.update({"HostPID": 0, "HostPPID": 0, "PID": 0, "PPID": 0})
    has_iso = rng.random() < 0.15
    if has_iso:
        ev["UpdatedTimeISO"] = ""
    _finish(ev, bool(ctx.keep_empty), ("UpdatedTime", "HashID", "UpdatedTimeISO"))
    if op == "AlertThreshold":
        for k in ("PolicyName", "Severity", "Tags", "ATags", "Message", "Action"):
            ev.pop(k, None)
    exec_event = ev.get("ExecEvent")
    has_exec = bool(exec_event) and "ExecID" in exec_event
    ev = dict(sorted(ev.items()))
    nested = tuple(k for k, v in ev.items() if isinstance(v, (dict, list)))
    return ev, nested, pid_mode, has_iso, has_exec


def _log_template(world: _World, si: int, ci: int, vi: int, host: bool) -> _Template:
    name, op, _w, builder = LOG_SCENARIOS[si]
    ctx = (world.hosts if host else world.pods)[ci]
    rng = random.Random(f"log|{world.seed}|{name}|{int(host)}|{ci}|{vi}")  # noqa: S311 - synthetic data
    d = builder(rng, ctx)
    ev: Dict[str, Any] = {k: v for k, v in ctx.fields.items() if k in _PROTO_ORDER}
    if host:
        if rng.random() < 0.5:
            ev["UserName"] = ctx.user
        ev["UID"] = ctx.uid
    else:
        ev["UID"] = ctx.uid
    ev.update(d)
    for k in _ALERT_ONLY:
        ev.pop(k, None)
    ev.update({"Type": "HostLog" if host else "ContainerLog", "Operation": op, "Timestamp": 0, "UpdatedTime": "",
               "HostPID": 0, "HostPPID": 0, "PID": 0, "PPID": 0})
    _finish(ev, False, ("UpdatedTime",))
    exec_event = ev.get("ExecEvent")
    has_exec = bool(exec_event) and "ExecID" in exec_event
    ev = dict(sorted(ev.items(), key=lambda kv: _PROTO_ORDER.get(kv[0], 999)))
    nested = tuple(k for k, v in ev.items() if isinstance(v, (dict, list)))
    return ev, nested, 2 if host else 1, False, has_exec


def _weighted_table(weights: Sequence[float]) -> List[int]:
    total = float(sum(weights))
    table: List[int] = []
    acc = 0.0
    for idx, w in enumerate(weights):
        acc += w
        table.extend([idx] * (round(acc / total * _TABLE) - len(table)))
    return table


class _Clock:
    """Event times: exponential (Poisson) or regular gaps, formatted cheaply."""

    __slots__ = ("t", "gap", "rng", "regular", "i", "start", "_sec", "_prefix")

    def __init__(self, start: float, rate: float, rng: random.Random, regular: bool) -> None:
        if not rate > 0:
            raise ValueError("rate: expected a positive number of events per second")
        self.t = float(start)
        self.start = float(start)
        self.gap = 1.0 / rate
        self.rng = rng
        self.regular = regular
        self.i = 0
        self._sec = -1
        self._prefix = ""

    def next(self) -> Tuple[float, int, str, int]:
        """Return (time, Timestamp, 'YYYY-mm-ddTHH:MM:SS', microseconds)."""
        if self.regular:
            t = self.start + self.i * self.gap
        else:
            t = self.t + self.rng.expovariate(1.0) * self.gap
        self.i += 1
        self.t = t
        sec = int(t)
        if sec != self._sec:
            self._sec = sec
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        usec = int((t - sec) * 1_000_000)
        if usec > 999_999:
            usec = 999_999
        return t, sec, self._prefix, usec


def _iter_alerts(n: Optional[int], seed: int, start: float, rate: float, clusters: Sequence[str], tenant_id: str,
                 hash_id_fraction: float, types: Optional[Collection[str]], operations: Optional[Collection[str]],
                 regular: bool) -> Iterator[Tuple[float, Dict[str, Any]]]:
    world = _world(seed, clusters, tenant_id)
    chosen = [i for i, s in enumerate(SCENARIOS)
              if (types is None or s[1] in types) and (operations is None or s[2] in operations)]
    if not chosen:
        raise ValueError(f"no scenario matches types={types!r} operations={operations!r}")
    table = [chosen[i] for i in _weighted_table([SCENARIOS[i][3] for i in chosen])]
    host_flags = [s[4] for s in SCENARIOS]
    n_pods, n_hosts = len(world.pods), len(world.hosts)
    rng = random.Random(f"events|{seed}|{start!r}|{rate!r}")  # noqa: S311 - synthetic data
    r = rng.random
    if not rate > 0:
        raise ValueError("rate: expected a positive number of events per second")
    cache = world.alert_templates
    hash_prefix = f"alert|{seed}|{start!r}|{rate!r}|".encode()
    sha256 = hashlib.sha256
    expo = rng.expovariate
    gap = 1.0 / rate
    t = float(start)
    last_sec = -1
    prefix = ""
    n_table = len(table)
    full_hash = hash_id_fraction >= 1.0
    i = 0
    while n is None or i < n:
        # event time, formatted once per second
        t = start + i * gap if regular else t + expo(1.0) * gap
        sec = int(t)
        if sec != last_sec:
            last_sec = sec
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        usec = int((t - sec) * 1_000_000)
        si = table[int(r() * n_table)]
        host = host_flags[si]
        ci = int(r() * (n_hosts if host else n_pods))
        vi = int(r() * _VARIANTS)
        key = (si * 100_000 + ci) * _VARIANTS + vi
        tpl = cache.get(key)
        if tpl is None:
            tpl = cache[key] = _alert_template(world, si, ci, vi)
        base, nested, pid_mode, has_iso, has_exec = tpl
        ev = base.copy()
        for k in nested:
            ev[k] = ev[k].copy()
        ev["Timestamp"] = sec
        if usec > 999_999:  # float rounding just below the next second
            usec = 999_999
        ev["UpdatedTime"] = f"{prefix}.{usec:06d}Z"
        if has_iso:
            ev["UpdatedTimeISO"] = f"{prefix}.{usec // 1000:03d}Z"
        if full_hash or r() < hash_id_fraction:
            ev["HashID"] = sha256(hash_prefix + b"%d" % i).hexdigest()
        else:
            del ev["HashID"]
        if pid_mode == 1:
            hp = 1000 + int(r() * 4_000_000)
            pid = 1 + int(r() * 2000)
            ev["HostPID"] = hp
            ev["HostPPID"] = hp - 1 - int(r() * 300)
            ev["PID"] = pid
            ev["PPID"] = 0 if pid < 30 else pid - 1 - int(r() * 25)
        elif pid_mode == 2:
            hp = 1000 + int(r() * 4_000_000)
            ev["HostPID"] = ev["PID"] = hp
            ev["HostPPID"] = ev["PPID"] = hp - 1 - int(r() * 5000)
        if has_exec:
            ev["ExecEvent"]["ExecID"] = str(int(r() * 1e15))
        yield t, ev
        i += 1


def generate_events(
    n: Optional[int],
    *,
    seed: int = 0,
    start: float,
    rate: float,
    clusters: Sequence[str] = DEFAULT_CLUSTERS,
    tenant_id: str = DEFAULT_TENANT,
    hash_id_fraction: float = 1.0,
    types: Optional[Collection[str]] = None,
    operations: Optional[Collection[str]] = None,
    regular: bool = False,
) -> Iterator[Dict[str, Any]]:
    """Yield ``n`` SaaS-enriched alert rows with event times from ``start`` at ``rate`` events/s.

    Inter-arrival gaps are exponential (Poisson arrivals; ``regular=True`` for
    evenly spaced events), so times are non-decreasing in yield order.
    ``clusters`` are AccuKnox cluster ids (``cluster_id``); ``tenant_id`` goes
    into every row. ``hash_id_fraction`` < 1 leaves ``HashID`` out of some rows
    (as in part of the real SaaS samples) to exercise fingerprint fallbacks.
    ``types``/``operations`` restrict the scenarios. ``n=None`` is an endless
    stream: the caller must bound it. Each yielded dict is a fresh object the
    caller may mutate.
    """
    if n is not None and n < 0:
        raise ValueError("n: expected a non-negative count or None")
    for _t, ev in _iter_alerts(n, seed, start, rate, clusters, tenant_id, hash_id_fraction, types, operations,
                               regular):
        yield ev


def generate_logs(
    n: Optional[int],
    *,
    seed: int = 0,
    start: float,
    rate: float,
    clusters: Sequence[str] = DEFAULT_CLUSTERS,
    host_fraction: float = 0.2,
    regular: bool = False,
) -> Iterator[Dict[str, Any]]:
    """Yield ``n`` ``ContainerLog``/``HostLog`` telemetry events (relay PascalCase, proto key order).

    These never come from the SaaS alerts API; they model the push paths
    (feeder, relay, otel-adapter) for benchmarks. ``host_fraction`` is the share
    of ``HostLog`` events.
    """
    if n is not None and n < 0:
        raise ValueError("n: expected a non-negative count or None")
    world = _world(seed, clusters, DEFAULT_TENANT)
    table = _weighted_table([s[2] for s in LOG_SCENARIOS])
    n_pods, n_hosts = len(world.pods), len(world.hosts)
    rng = random.Random(f"logs|{seed}|{start!r}|{rate!r}")  # noqa: S311 - synthetic data
    r = rng.random
    clock = _Clock(start, rate, rng, regular)
    cache = world.log_templates
    i = 0
    while n is None or i < n:
        _t, sec, prefix, usec = clock.next()
        host = r() < host_fraction
        si = table[int(r() * len(table))]
        ci = int(r() * (n_hosts if host else n_pods))
        vi = int(r() * _VARIANTS)
        key = (si, ci, vi, host)
        tpl = cache.get(key)
        if tpl is None:
            tpl = cache[key] = _log_template(world, si, ci, vi, host)
        base, nested, pid_mode, _iso, has_exec = tpl
        ev = base.copy()
        for k in nested:
            ev[k] = ev[k].copy()
        ev["Timestamp"] = sec
        ev["UpdatedTime"] = f"{prefix}.{usec:06d}Z"
        hp = 1000 + int(r() * 4_000_000)
        if pid_mode == 1:
            pid = 1 + int(r() * 2000)
            ev["HostPID"] = hp
            ev["HostPPID"] = hp - 1 - int(r() * 300)
            ev["PID"] = pid
            ev["PPID"] = 0 if pid < 30 else pid - 1 - int(r() * 25)
        else:
            ev["HostPID"] = ev["PID"] = hp
            ev["HostPPID"] = ev["PPID"] = hp - 1 - int(r() * 5000)
        if has_exec:
            ev["ExecEvent"]["ExecID"] = str(int(r() * 1e15))
        yield ev
        i += 1


class LiveEventSource:
    """Alerts generated against a clock, for the emulator's live mode.

    Call it with the current time; it returns the alerts whose event time is
    now ≤ ``now`` and that it has not returned before (an append-only feed).
    The first call also returns the ``backfill`` seconds before construction.
    At most ``max_batch`` events per call keep each call bounded (the rest come
    with the next call).
    """

    def __init__(
        self,
        rate: float,
        *,
        seed: int = 0,
        clusters: Sequence[str] = DEFAULT_CLUSTERS,
        tenant_id: str = DEFAULT_TENANT,
        backfill: float = 0.0,
        clock: Callable[[], float] = time.time,
        max_batch: int = 100_000,
        hash_id_fraction: float = 1.0,
    ) -> None:
        self.start = clock() - backfill
        self.rate = rate
        self.max_batch = max_batch
        self._it = _iter_alerts(None, seed, self.start, rate, clusters, tenant_id, hash_id_fraction, None, None,
                                False)
        self._pending: Optional[Tuple[float, Dict[str, Any]]] = None
        self.emitted = 0

    def __call__(self, now: float) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []
        while len(out) < self.max_batch:
            if self._pending is None:
                self._pending = next(self._it)
            t, ev = self._pending
            if t > now:
                break
            out.append(ev)
            self._pending = None
        self.emitted += len(out)
        return out
