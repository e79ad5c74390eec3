"""The baseline: a straightforward reference ECS mapping, written from the documented tables.

This is what a first implementation of ``shared/docs/ecs-mapping.md`` would look
like before any performance work, kept here as the yardstick for ``map_ecs``
(the issue's ``naive`` row): the stdlib ``json`` module, one event at a time
("dict by dict"), every dotted ECS path set through a generic helper, every
table consulted per event, the time parsed with ``datetime`` per event, no
caching and no code generation. It covers roughly the same fields as the
project's mapper (sections 1-7 of the document: field map, network events,
categorisation, severity, MITRE tags, identity) so the comparison is about how
the work is done, not how much of it.

It is a benchmark baseline only: the project's mapper
(``integrations.mapping.Mapper``) is the reference for correctness.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

ECS_VERSION = "8.17.0"

# --- tables (ecs-mapping.md sections 1-6) ---------------------------------------------

CONSTANTS = {
    "event.module": "accuknox",
    "observer.vendor": "AccuKnox",
    "observer.product": "KubeArmor",
    "observer.type": "sensor",
    "data_stream.type": "logs",
    "data_stream.namespace": "default",
}

ALERT_TYPES = ["MatchedPolicy", "MatchedHostPolicy", "MatchedNetworkPolicy", "MatchedNativePolicy",
               "PolicyMatched", "SystemEvent"]

EVENT_KIND = {"MatchedPolicy": "alert", "MatchedHostPolicy": "alert", "MatchedNetworkPolicy": "alert",
              "MatchedNativePolicy": "alert", "PolicyMatched": "alert"}

RULESET = {"MatchedPolicy": "KubeArmorPolicy", "MatchedHostPolicy": "KubeArmorHostPolicy",
           "MatchedNetworkPolicy": "KubeArmorNetworkPolicy", "MatchedNativePolicy": "NativePolicy"}

# simple one-to-one copies: KubeArmor field -> ECS fields
FIELD_MAP = [
    ("ClusterName", ["orchestrator.cluster.name"]),
    ("cluster_id", ["orchestrator.cluster.id", "accuknox.cluster_id"]),
    ("cluster_name", ["accuknox.cluster_name"]),
    ("HostName", ["host.name", "host.hostname", "observer.hostname"]),
    ("NodeID", ["host.id"]),
    ("NamespaceName", ["orchestrator.namespace"]),
    ("PodName", ["orchestrator.resource.name"]),
    ("Labels", ["kubearmor.labels"]),
    ("ContainerID", ["container.id"]),
    ("ContainerName", ["container.name"]),
    ("ContainerImage", ["kubearmor.container_image"]),
    ("HostPID", ["process.pid"]),
    ("HostPPID", ["process.parent.pid"]),
    ("PID", ["process.vpid"]),
    ("PPID", ["process.parent.vpid"]),
    ("UserName", ["process.user.name"]),
    ("ProcessName", ["process.executable"]),
    ("ParentProcessName", ["process.parent.executable"]),
    ("Resource", ["kubearmor.resource"]),
    ("Data", ["kubearmor.data"]),
    ("Cwd", ["process.working_directory"]),
    ("TTY", ["kubearmor.tty"]),
    ("KubeArmorVersion", ["observer.version"]),
    ("Enforcer", ["event.provider", "kubearmor.enforcer"]),
    ("PolicyName", ["rule.name"]),
    ("Type", ["kubearmor.type"]),
    ("Operation", ["kubearmor.operation"]),
    ("Action", ["kubearmor.action"]),
    ("Result", ["kubearmor.result"]),
    ("MaxAlertsPerSec", ["kubearmor.max_alerts_per_sec"]),
    ("DroppingAlertsInterval", ["kubearmor.dropping_alerts_interval"]),
    ("tenant_id", ["accuknox.tenant_id"]),
    ("workload", ["accuknox.workload"]),
    ("component_name", ["accuknox.component_name"]),
    ("instanceGroup", ["accuknox.instance_group"]),
    ("instanceID", ["accuknox.instance_id"]),
    ("HashID", ["accuknox.hash_id"]),
]

CATEGORIZATION = {
    "Process/execve": ("process", "start"), "Process/execveat": ("process", "start"),
    "Process/security_bprm_check": ("process", "start"), "Process/ptrace": ("process", "access"),
    "File/open/creation": ("file", "creation"), "File/open/change": ("file", "change"),
    "File/open/access": ("file", "access"), "File/openat/creation": ("file", "creation"),
    "File/openat/change": ("file", "change"), "File/openat/access": ("file", "access"),
    "File/creat": ("file", "creation"), "File/file_open": ("file", "access"),
    "File/file_permission": ("file", "access"), "File/file_mknod": ("file", "creation"),
    "File/file_mkdir": ("file", "creation"), "File/file_link": ("file", "creation"),
    "File/file_symlink": ("file", "creation"), "File/mkdir": ("file", "creation"),
    "File/mkdirat": ("file", "creation"), "File/unlink": ("file", "deletion"),
    "File/unlinkat": ("file", "deletion"), "File/rmdir": ("file", "deletion"),
    "File/file_unlink": ("file", "deletion"), "File/file_rmdir": ("file", "deletion"),
    "File/rename": ("file", "change"), "File/renameat": ("file", "change"),
    "File/renameat2": ("file", "change"), "File/chmod": ("file", "change"),
    "File/fchmodat": ("file", "change"), "File/chown": ("file", "change"),
    "File/fchownat": ("file", "change"), "File/truncate": ("file", "change"),
    "File/file_rename": ("file", "change"), "File/file_chmod": ("file", "change"),
    "File/file_truncate": ("file", "change"), "File/close": ("file", "info"),
    "Network/connect": ("network", ["connection", "start"]),
    "Network/tcp_connect": ("network", ["connection", "start"]),
    "Network/socket_connect": ("network", ["connection", "start"]),
    "Network/accept": ("network", ["connection", "start"]),
    "Network/tcp_accept": ("network", ["connection", "start"]),
    "Network/socket_accept": ("network", ["connection", "start"]),
    "Network/bind": ("network", "start"), "Network/listen": ("network", "start"),
    "Network/socket": ("network", "info"), "Network/socket_create": ("network", "info"),
    "Network/udp_sendmsg": ("network", "protocol"), "Network/udp_sendskb": ("network", "protocol"),
    "Network/socket_sendmsg": ("network", "protocol"),
    "NetworkFirewall/*": ("network", "connection"),
    "Capabilities/*": ("process", "access"),
    "Syscall/setuid": ("process", "change"), "Syscall/setgid": ("process", "change"),
    "Syscall/unlink": ("file", "deletion"), "Syscall/unlinkat": ("file", "deletion"),
    "Syscall/rmdir": ("file", "deletion"), "Syscall/mount": ("host", "change"),
    "Syscall/umount": ("host", "change"), "Syscall/umount2": ("host", "change"),
    "Device/*": ("host", "access"), "AlertThreshold/*": ("host", "info"),
    "Process/*": ("process", "info"), "File/*": ("file", "access"),
}

OPEN_FLAG_CLASS = [("O_CREAT", "creation"), ("O_WRONLY", "change"), ("O_RDWR", "change"), ("O_TRUNC", "change")]

SEVERITY_PRESETS = {
    "higher_is_worse": {1: "low", 2: "low", 3: "low", 4: "medium", 5: "medium", 6: "medium",
                        7: "high", 8: "high", 9: "critical", 10: "critical"},
}
LEVEL_SCORES = {"critical": (99, 99.0), "high": (73, 73.0), "medium": (47, 47.0), "low": (21, 21.0),
                "informational": (21, 10.0)}

WELL_KNOWN_FAMILIES = {"AF_INET": "ipv4", "AF_INET6": "ipv6", "2": "ipv4", "10": "ipv6"}
SOCKET_TRANSPORT = {"SOCK_STREAM": "tcp", "SOCK_DGRAM": "udp", "TCP": "tcp", "UDP": "udp", "ICMP": "icmp"}

FINGERPRINT_FIELDS = ["UpdatedTime", "Timestamp", "HostName", "HostPID", "PID", "ContainerID",
                      "Type", "Operation", "Resource", "Data", "PolicyName", "Action", "Result"]


# --- helpers ---------------------------------------------------------------------------

def _parent(doc: Dict[str, Any], path: str) -> Tuple[Dict[str, Any], str]:
    """The object holding the last part of a dotted ECS path (created on the way), and that part."""
    parts = path.split(".")
    obj = doc
    for p in parts[:-1]:
        if p not in obj:
            obj[p] = {}
        obj = obj[p]
    return obj, parts[-1]


def set_path(doc: Dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted ECS path, creating the objects on the way."""
    obj, key = _parent(doc, path)
    obj[key] = value


def append_path(doc: Dict[str, Any], path: str, value: Any) -> None:
    """Append to a dotted ECS array path without duplicates."""
    obj, key = _parent(doc, path)
    values = value if isinstance(value, list) else [value]
    current = obj.setdefault(key, [])
    for v in values:
        if v not in current:
            current.append(v)


def present(event: Dict[str, Any], key: str) -> bool:
    return event.get(key) not in (None, "", [], {})


def parse_time(value: Any) -> Optional[str]:
    """ISO 8601 UTC with microseconds from UpdatedTime or epoch seconds."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, str) and value:
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return None


def key_values(text: str) -> Dict[str, str]:
    """``k=v k2=v2`` (also comma separated) into a dict."""
    out = {}
    for token in re.split(r"[\s,]+", text or ""):
        if "=" in token:
            k, v = token.split("=", 1)
            out[k] = v
    return out


def valid_ip(text: Any) -> Optional[str]:
    try:
        ipaddress.ip_address(str(text))
    except ValueError:
        return None
    return str(text)


def basename(path: str) -> str:
    return path.rstrip("/").split("/")[-1] if path else path


def first_word(text: str) -> str:
    return text.split()[0] if text and text.split() else ""


def event_id(event: Dict[str, Any]) -> str:
    if present(event, "HashID"):
        return str(event["HashID"])
    h = hashlib.sha256()
    for name in sorted(FINGERPRINT_FIELDS):
        if event.get(name) is not None:
            h.update(b"\x00" + str(event[name]).encode("utf-8"))
    return base64.b64encode(h.digest()).decode("ascii")


# --- the mapping -----------------------------------------------------------------------

def to_ecs(event: Dict[str, Any], ingested: str) -> Dict[str, Any]:
    """One raw event row (PascalCase, SaaS additions) -> ECS document."""
    doc: Dict[str, Any] = {}
    for path, value in CONSTANTS.items():
        set_path(doc, path, value)
    set_path(doc, "ecs.version", ECS_VERSION)

    etype = event.get("Type") or ""
    operation = event.get("Operation") or ""
    stream = "alert" if etype in ALERT_TYPES else "log"
    set_path(doc, "event.kind", EVENT_KIND.get(etype, "event"))
    set_path(doc, "event.dataset", "accuknox." + stream)
    set_path(doc, "data_stream.dataset", "accuknox." + stream)
    if etype in RULESET:
        set_path(doc, "rule.ruleset", RULESET[etype])

    # time
    ts = None
    for key in ("UpdatedTime", "Timestamp", "UpdatedTimeISO"):
        if present(event, key):
            ts = parse_time(event[key])
            if ts:
                break
    set_path(doc, "@timestamp", ts or ingested)
    if present(event, "Timestamp"):
        set_path(doc, "kubearmor.timestamp", parse_time(event["Timestamp"]))
    set_path(doc, "event.ingested", ingested)

    # one-to-one fields
    for source, targets in FIELD_MAP:
        if present(event, source):
            for target in targets:
                set_path(doc, target, event[source])
    if present(event, "HostName"):
        append_path(doc, "related.hosts", event["HostName"])
    if present(event, "NamespaceName") or present(event, "PodName"):
        set_path(doc, "orchestrator.type", "kubernetes")
    if present(event, "PodName"):
        set_path(doc, "orchestrator.resource.type", "pod")

    owner = event.get("Owner") or {}
    if isinstance(owner, dict):
        if owner.get("Ref"):
            set_path(doc, "orchestrator.resource.parent.type", owner["Ref"])
        if owner.get("Name"):
            set_path(doc, "kubearmor.owner.name", owner["Name"])
        if owner.get("Namespace"):
            set_path(doc, "kubearmor.owner.namespace", owner["Namespace"])

    labels = event.get("Labels") or ""
    if labels:
        items = []
        for part in re.split(r",|\s+", labels):
            part = part.strip()
            if part and part != "...":
                items.append(part.replace("=", ":", 1))
        if items:
            set_path(doc, "orchestrator.resource.label", items)

    image = event.get("ContainerImage") or ""
    if image:
        name, _, digest = image.partition("@")
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            set_path(doc, "container.image.tag", [name[colon + 1:]])
            name = name[:colon]
        set_path(doc, "container.image.name", name)
        if digest:
            set_path(doc, "container.image.hash.all", [digest])

    # process
    if present(event, "UID"):
        set_path(doc, "process.user.id", str(event["UID"]))
        append_path(doc, "related.user", str(event["UID"]))
    if present(event, "UserName"):
        append_path(doc, "related.user", event["UserName"])
    resource = event.get("Resource") or ""
    source = event.get("Source") or ""
    if operation == "Process":
        command_line, parent_command = resource, source
    else:
        command_line, parent_command = source, ""
    if command_line:
        set_path(doc, "process.command_line", command_line)
        set_path(doc, "process.args", command_line.split())
    if parent_command:
        set_path(doc, "process.parent.command_line", parent_command)
    executable = event.get("ProcessName") or first_word(command_line)
    if executable:
        set_path(doc, "process.executable", executable)
        set_path(doc, "process.name", basename(executable))
    parent = event.get("ParentProcessName") or first_word(parent_command if operation == "Process" else "")
    if parent:
        set_path(doc, "process.parent.executable", parent)
        set_path(doc, "process.parent.name", basename(parent))
    if present(event, "TTY"):
        set_path(doc, "process.interactive", True)
    exec_event = event.get("ExecEvent") or {}
    if isinstance(exec_event, dict):
        if exec_event.get("ExecID") and exec_event["ExecID"] != "0" and present(event, "HostName"):
            set_path(doc, "process.entity_id", f"{event['HostName']}-{exec_event['ExecID']}")
        if exec_event.get("ExecutableName"):
            set_path(doc, "kubearmor.exec_event.executable_name", exec_event["ExecutableName"])
    if (event.get("HashAlgo") or "").lower() == "sha256":
        for key, path in (("ProcessHash", "process.hash.sha256"), ("ParentHash", "process.parent.hash.sha256"),
                          ("ResourceHash", "file.hash.sha256")):
            if present(event, key):
                set_path(doc, path, event[key])
                append_path(doc, "related.hash", event[key])

    # Data: syscall / lsm hook / kprobe, parsed pairs
    data = key_values(event.get("Data") or "")
    if isinstance(event.get("EventData"), dict) and event["EventData"]:
        set_path(doc, "kubearmor.event_data", event["EventData"])
    elif data:
        set_path(doc, "kubearmor.event_data", data)
    syscall = data.get("syscall", "")
    if syscall:
        set_path(doc, "kubearmor.syscall", syscall)
    if data.get("lsm"):
        set_path(doc, "kubearmor.lsm_hook", data["lsm"])
    if syscall:
        action = syscall.lower().replace("sys_", "", 1)
    elif data.get("lsm"):
        action = data["lsm"].lower()
    elif data.get("kprobe") or data.get("kfunc"):
        action = (data.get("kprobe") or data.get("kfunc")).lower()
    else:
        action = operation.lower()
    if action:
        set_path(doc, "event.action", action)

    # file
    if operation == "File" and resource:
        set_path(doc, "file.path", resource)
        name = basename(resource)
        set_path(doc, "file.name", name)
        directory = resource.rsplit("/", 1)[0] if "/" in resource else ""
        if directory:
            set_path(doc, "file.directory", directory)
        if "." in name.strip("."):
            set_path(doc, "file.extension", name.rsplit(".", 1)[1])

    # categorisation
    open_class = "access"
    flags = data.get("flags", "")
    for flag, cls in OPEN_FLAG_CLASS:
        if flag in flags:
            open_class = cls
            break
    category = None
    for key in (f"{operation}/{action}/{open_class}", f"{operation}/{action}", f"{operation}/*"):
        if key in CATEGORIZATION:
            category = CATEGORIZATION[key]
            break
    if category is None:
        category = ("host", "info")
    append_path(doc, "event.category", category[0])
    append_path(doc, "event.type", category[1])

    # network (section 3)
    if operation in ("Network", "NetworkFirewall"):
        res = key_values(resource)
        if operation == "NetworkFirewall":
            pairs = {"source.ip": "SourceIP", "source.port": "SourcePort", "destination.ip": "DestinationIP",
                     "destination.port": "DestinationPort"}
            for path, key in pairs.items():
                if res.get(key):
                    value = valid_ip(res[key]) if path.endswith(".ip") else int(res[key])
                    if value is not None:
                        set_path(doc, path, value)
            if res.get("Protocol"):
                set_path(doc, "network.transport", res["Protocol"].lower())
            if "ingress" in resource.lower():
                set_path(doc, "network.direction", "ingress")
            elif "egress" in resource.lower():
                set_path(doc, "network.direction", "egress")
        elif syscall in ("SYS_CONNECT", "SYS_ACCEPT"):
            side = "destination" if syscall == "SYS_CONNECT" else "source"
            ip = valid_ip(res.get("sin_addr") or res.get("sin6_addr"))
            if ip:
                set_path(doc, side + ".ip", ip)
            port = res.get("sin_port") or res.get("sin6_port")
            if port and port.isdigit():
                set_path(doc, side + ".port", int(port))
            set_path(doc, "network.direction", "egress" if side == "destination" else "ingress")
            family = WELL_KNOWN_FAMILIES.get(res.get("sa_family", ""))
            if family:
                set_path(doc, "network.type", family)
        elif data.get("kprobe") in ("tcp_connect", "tcp_accept"):
            ip = valid_ip(res.get("remoteip"))
            if data["kprobe"] == "tcp_connect":
                if ip:
                    set_path(doc, "destination.ip", ip)
                set_path(doc, "network.direction", "egress")
            else:
                if ip:
                    set_path(doc, "source.ip", ip)
                set_path(doc, "network.direction", "ingress")
            if (res.get("port") or "").isdigit():
                set_path(doc, "destination.port", int(res["port"]))
            set_path(doc, "network.transport", "tcp")
        elif (data.get("kfunc") or "").upper() in ("UDP_SENDMSG", "UDP_SENDSKB"):
            if res.get("domain"):
                set_path(doc, "dns.question.name", res["domain"])
            if res.get("qtype"):
                set_path(doc, "dns.question.type", res["qtype"])
            ip = valid_ip(res.get("daddr"))
            if ip:
                set_path(doc, "destination.ip", ip)
            set_path(doc, "destination.port", 53)
            set_path(doc, "network.transport", "udp")
            set_path(doc, "network.protocol", "dns")
        elif syscall == "SYS_SOCKET":
            family = WELL_KNOWN_FAMILIES.get(res.get("domain", ""))
            if family:
                set_path(doc, "network.type", family)
            transport = SOCKET_TRANSPORT.get(res.get("type", "")) or SOCKET_TRANSPORT.get(res.get("protocol", ""))
            if transport:
                set_path(doc, "network.transport", transport)
        if "remotehost" in res:
            set_path(doc, "kubearmor.remote_host", res["remotehost"])
        for side in ("source", "destination"):
            ip = doc.get(side, {}).get("ip")
            if ip:
                append_path(doc, "related.ip", ip)

    # alerts: intrusion_detection, verdict, outcome, severity
    result = event.get("Result") or ""
    if stream == "alert":
        append_path(doc, "event.category", "intrusion_detection")
        blocked = result.lower() in ("permission denied", "operation not permitted")
        append_path(doc, "event.type", "denied" if blocked else "allowed")
    if result:
        set_path(doc, "event.outcome", "success" if result == "Passed" else "failure")
    else:
        set_path(doc, "event.outcome", "unknown")
    if stream == "alert":
        level = "medium"
        severity = event.get("Severity")
        if etype == "SystemEvent":
            level = "low"
        elif severity not in (None, ""):
            try:
                number = int(severity)
            except (TypeError, ValueError):
                set_path(doc, "kubearmor.severity_raw", str(severity))
            else:
                set_path(doc, "kubearmor.severity", number)
                level = SEVERITY_PRESETS["higher_is_worse"].get(number, "medium")
        set_path(doc, "kubearmor.severity_level", level)
        set_path(doc, "event.severity", LEVEL_SCORES[level][0])
        set_path(doc, "event.risk_score", LEVEL_SCORES[level][1])

    # message
    message = event.get("Message") or ""
    if not message and present(event, "PolicyName"):
        message = f"{event['PolicyName']}: {event.get('Action', '')} {operation} {resource}".strip()
    if message:
        set_path(doc, "message", message)
        set_path(doc, "rule.description", message)

    # tags and MITRE (section 6)
    tags = event.get("ATags") or [t.strip() for t in (event.get("Tags") or "").split(",") if t.strip()]
    tags = [t for t in tags if t and t != "..."]
    if tags:
        set_path(doc, "kubearmor.tags", tags)
    for tag in tags:
        m = re.match(r"^MITRE[_-](TA\d{4})(?:[_-](.+))?$", tag, re.IGNORECASE)
        if m:
            append_path(doc, "threat.tactic.id", m.group(1).upper())
            if m.group(2):
                append_path(doc, "threat.tactic.name", m.group(2).replace("_", " "))
            set_path(doc, "threat.framework", "MITRE ATT&CK")
            continue
        m = re.match(r"^MITRE[_-](T\d{4})(?:\.(\d{3}))?(?:[_-](.+))?$", tag, re.IGNORECASE)
        if m:
            append_path(doc, "threat.technique.id", m.group(1).upper())
            if m.group(3):
                append_path(doc, "threat.technique.name", m.group(3).replace("_", " "))
            if m.group(2):
                append_path(doc, "threat.technique.subtechnique.id", f"{m.group(1).upper()}.{m.group(2)}")
            set_path(doc, "threat.framework", "MITRE ATT&CK")

    # identity, original, extras
    set_path(doc, "event.id", event_id(event))
    if stream == "alert":
        set_path(doc, "event.original", json.dumps(event))
    return doc


def map_line(line: bytes) -> str:
    """Decode one JSON line, map it, encode the ECS document (the ``naive`` row's unit of work)."""
    ingested = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(to_ecs(json.loads(line), ingested))


def map_lines(lines: List[bytes]) -> int:
    """Map every line; returns how many were mapped."""
    for line in lines:
        map_line(line)
    return len(lines)
