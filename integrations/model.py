"""Data passed between the stages: parsed events and rejections.

``events`` produces :class:`ParsedEvent` (a canonical event plus where it came
from) or :class:`Rejected` (an input that could not become an event, with the
reason). The mapper consumes ``ParsedEvent.fields``; sinks and the dead-letter
writer consume both.

Canonical event (``ParsedEvent.fields``), a plain ``dict`` for speed:

* keys are KubeArmor's proto names (``HostPID``, ``ATags``, ``Owner``, ...) plus
  the AccuKnox SaaS additions spelled as the SaaS spells them (``cluster_id``,
  ``tenant_id``, ``component_name``, ``instanceGroup``, ``instanceID``,
  ``workload``, ``HashID``, ``UpdatedTimeISO``, ``cluster_name``);
* known keys whose value is ``None`` or ``""`` are absent (PascalCase
  ``omitempty`` semantics), except ``PPID``/``UID`` whose ``0`` is real;
* integers (``Timestamp``, pids, ``UID``, ``MaxAlertsPerSec``,
  ``DroppingAlertsInterval``) are ``int``; ``Timestamp`` is epoch seconds;
* ``Severity`` is an ``int`` when the input is an integer or an integer string,
  else the original text (``"Medium"``);
* ``ATags`` is a ``list[str]``; ``Tags`` a ``str``;
* ``Owner`` is ``{"Ref", "Name", "Namespace"}`` (subset), ``ExecEvent``
  ``{"ExecID": str, "ExecutableName": str}`` (subset), ``EventData`` ``dict[str, str]``;
* ``Type`` and ``Operation`` use their canonical spelling when the value is
  known case-insensitively (``containerlog`` -> ``ContainerLog``);
* any other key is kept unchanged under its original name (never dropped),
  except credentials such as ``secret_key``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Union

#: Keys of the canonical event in KubeArmor's proto order, then SaaS additions.
KUBEARMOR_FIELDS = (
    "Timestamp", "UpdatedTime", "ClusterName", "HostName", "NodeID", "NamespaceName",
    "Owner", "PodName", "Labels", "ContainerID", "ContainerName", "ContainerImage",
    "HostPPID", "HostPID", "PPID", "PID", "UID", "UserName", "ParentProcessName",
    "ProcessName", "PolicyName", "Severity", "Tags", "ATags", "Message", "Type",
    "Source", "Operation", "Resource", "Data", "EventData", "Enforcer", "Action",
    "Result", "Cwd", "TTY", "ExecEvent", "KubeArmorVersion", "MaxAlertsPerSec",
    "DroppingAlertsInterval", "ProcessHash", "ParentHash", "ResourceHash", "HashAlgo",
)
SAAS_FIELDS = (
    "cluster_id", "tenant_id", "component_name", "instanceGroup", "instanceID",
    "workload", "HashID", "UpdatedTimeISO", "cluster_name",
)
CANONICAL_FIELDS = KUBEARMOR_FIELDS + SAAS_FIELDS

ALERT_TYPES = frozenset(
    {"MatchedPolicy", "MatchedHostPolicy", "MatchedNetworkPolicy", "MatchedNativePolicy", "PolicyMatched"}
)
LOG_TYPES = frozenset({"ContainerLog", "HostLog", "SystemLog"})
#: SystemEvent arrives in the Alert stream but is a notice, not a policy match.
NOTICE_TYPES = frozenset({"SystemEvent"})


class ParsedEvent:
    """A canonical event with its origin.

    ``fields`` is the canonical dict described in the module docstring;
    ``original`` the input as decoded (dict for JSON, str for a text block);
    ``location`` e.g. ``alerts.jsonl:12``; ``warnings`` non-fatal remarks
    (no event time, value outside its known set, ...).
    """

    __slots__ = ("fields", "original", "location", "warnings")

    def __init__(
        self,
        fields: Dict[str, Any],
        original: Any = None,
        location: str = "",
        warnings: List[str] | None = None,
    ) -> None:
        self.fields = fields
        self.original = original
        self.location = location
        self.warnings = warnings if warnings is not None else []

    def __repr__(self) -> str:
        return f"ParsedEvent({self.location!r}, Type={self.fields.get('Type')!r})"


class Rejected:
    """An input that could not become an event: goes to the dead-letter output.

    ``original`` is the input as received (decoded text when it was not JSON).
    """

    __slots__ = ("reason", "location", "original")

    def __init__(self, reason: str, location: str, original: Any) -> None:
        self.reason = reason
        self.location = location
        self.original = original

    def to_dead_letter(self) -> Dict[str, Any]:
        """The dead-letter JSON record: ``{"reason", "location", "original"}``."""
        return {"reason": self.reason, "location": self.location, "original": self.original}

    def __repr__(self) -> str:
        return f"Rejected({self.location!r}, {self.reason!r})"


ParseResult = Union[ParsedEvent, Rejected]


class Delivery:
    """One event on its way to a sink.

    ``event_id`` the idempotent id (HashID or fingerprint); ``time`` event time
    in epoch seconds with fraction; ``host`` the KubeArmor node (``HostName``)
    or ``None``; ``stream`` ``"alert"`` or ``"log"`` (selects data stream /
    sourcetype); ``body`` the document to write (ECS, CIM view or raw, as chosen
    with ``--map``); ``raw`` the original event as received (a dict), used by
    sinks that ship raw JSON (Elasticsearch ingest-pipeline mode, HEC raw).
    """

    __slots__ = ("event_id", "time", "host", "stream", "body", "raw")

    def __init__(
        self,
        event_id: str,
        time: float,
        host: str | None,
        stream: str,
        body: Dict[str, Any],
        raw: Any,
    ) -> None:
        self.event_id = event_id
        self.time = time
        self.host = host
        self.stream = stream
        self.body = body
        self.raw = raw

    def __repr__(self) -> str:
        return f"Delivery({self.event_id!r}, {self.stream!r})"
