"""The named transforms a mapping definition may use, as a registry.

Consumes: transform specs from the definition (``basename`` or
``{lookup: {table: outcome}}``) and the definition's tables.
Produces: plain Python callables ``value -> value`` used by the mapper.

Each entry declares the parameters it accepts (the loader rejects others), the
kind of value it returns (for the ECS/CIM type check) and a builder. A
transform returns ``None`` when it has nothing to say; ``None`` means "no
value", so the rule sets nothing. Renderers (ingest pipeline, props.conf) key
their own translations by the same names.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

Fn = Callable[[Any], Any]


class Table:
    """A lookup table from the definition: ``rows``, optional ``default``, case handling."""

    __slots__ = ("name", "rows", "default", "case_insensitive", "ordered", "_folded")

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        self.name = name
        self.rows: Dict[Any, Any] = dict(spec.get("rows") or {})
        self.default = spec.get("default")
        self.case_insensitive = bool(spec.get("case_insensitive", False))
        self.ordered = bool(spec.get("ordered", False))
        self._folded = {str(k).lower(): v for k, v in self.rows.items()} if self.case_insensitive else None

    def get(self, key: Any, default: Any = ...) -> Any:
        """Row for ``key`` (case-folded when the table says so), else the default."""
        if default is ...:
            default = self.default
        if key is None:
            return default
        if self._folded is not None:
            return self._folded.get(str(key).lower(), default)
        hit = self.rows.get(key, ...)
        if hit is ...:
            hit = self.rows.get(str(key), default)
        return hit


class TransformSpec:
    """A vocabulary entry: accepted parameters, output kind, builder."""

    __slots__ = ("name", "params", "required", "kind", "build", "multi_input", "doc", "keeps_text")

    def __init__(
        self,
        name: str,
        build: Callable[[Mapping[str, Any], Mapping[str, Any]], Fn],
        kind: str,
        params: Sequence[str] = (),
        required: Sequence[str] = (),
        multi_input: bool = False,
        doc: str = "",
        keeps_text: bool = False,
    ) -> None:
        self.name = name
        self.build = build
        self.kind = kind
        self.params: FrozenSet[str] = frozenset(params)
        self.required: FrozenSet[str] = frozenset(required)
        self.multi_input = multi_input
        self.doc = doc
        #: returns every non-empty str unchanged (the compiler writes such values directly)
        self.keeps_text = keeps_text


TRANSFORMS: Dict[str, TransformSpec] = {}


def register(spec: TransformSpec) -> TransformSpec:
    """Add a vocabulary entry; names are unique."""
    if spec.name in TRANSFORMS:
        raise ValueError(f"transform {spec.name!r} registered twice")
    TRANSFORMS[spec.name] = spec
    return spec


# --------------------------------------------------------------------------- scalar transforms


def _copy(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: v


def _string(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    def fn(v: Any) -> Any:
        if v is None or isinstance(v, (dict, list)):
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    return fn


_INT_TEXT = re.compile(r"-?[0-9]+")


def _integer(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    def fn(v: Any) -> Any:
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            s = v.strip()
            if _INT_TEXT.fullmatch(s):  # ASCII digits only, as SPL and the ingest pipeline read them
                return int(s)
        return None

    return fn


def _integer_in_range(p: Mapping[str, Any], t: Mapping[str, Any]) -> Fn:
    lo, hi = int(p["min"]), int(p["max"])
    to_int = _integer(p, t)

    def fn(v: Any) -> Any:
        n = to_int(v)
        return n if n is not None and lo <= n <= hi else None

    return fn


def _lowercase(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: v.lower() if isinstance(v, str) else v


def _uppercase(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: v.upper() if isinstance(v, str) else v


@lru_cache(maxsize=65536)
def basename(path: str) -> Optional[str]:
    """Last path segment (``/usr/bin/apt`` -> ``apt``); ``None`` for an empty result.

    Only the command word counts, so ``/bin/sh -c x`` gives ``sh``: KubeArmor's
    process names are paths without arguments, but a Source with arguments
    must not yield ``-c x``.
    """
    parts = path.split(None, 1)
    if not parts:
        return None
    name = parts[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _basename(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: basename(v) if isinstance(v, str) and v else None


@lru_cache(maxsize=65536)
def dirname(path: str) -> Optional[str]:
    """Directory of an absolute path (``/etc/passwd`` -> ``/etc``, ``/x`` -> ``/``)."""
    if "/" not in path:
        return None
    head = path.rstrip("/").rsplit("/", 1)[0]
    return head or "/"


def _dirname(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: dirname(v) if isinstance(v, str) and v else None


_EXT = re.compile(r"\.([A-Za-z0-9_+-]{1,16})$")


@lru_cache(maxsize=65536)
def extension(path: str) -> Optional[str]:
    """File extension without the dot (``a.tar.gz`` -> ``gz``); none for dotfiles."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if name.startswith(".") and name.count(".") == 1:
        return None
    m = _EXT.search(name)
    return m.group(1) if m else None


def _extension(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: extension(v) if isinstance(v, str) and v else None


def _args(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    # KubeArmor joins arguments with single spaces, so quoting is already lost.
    return lambda v: v.split() or None if isinstance(v, str) else None


def _command_word(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    # The executable of a KubeArmor command line: the first space-separated word.
    return lambda v: (v.split(None, 1)[0] if v.strip() else None) if isinstance(v, str) else None


def _strip_prefix(p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    prefix = str(p["prefix"])
    n = len(prefix)
    low = prefix.lower()

    def fn(v: Any) -> Any:
        if isinstance(v, str) and v[:n].lower() == low:
            return v[n:] or None
        return v

    return fn


def _regex(p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    rx = re.compile(str(p["pattern"]))

    def fn(v: Any) -> Any:
        if not isinstance(v, str):
            return None
        m = rx.search(v)
        if not m:
            return None
        return m.group(1) if m.groups() else m.group(0)

    return fn


def _format(p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    template = str(p["template"] if "template" in p else p.get("format"))
    return lambda v: template.format(v) if v is not None else None


def _date(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    from integrations.mapping.timefmt import to_iso

    return to_iso


def _lookup(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    table: Table = tables[p["table"]]
    has_default = "default" in p
    default = p.get("default")

    def fn(v: Any) -> Any:
        if v is None:
            return None
        return table.get(v, default) if has_default else table.get(v)

    return fn


def _keyed_lookup(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    """Try key templates in order (``'{0}/{1}/{2}'``, ``'{0}/{1}'``, ...) then the default."""
    table: Table = tables[p["table"]]
    keys = [str(k) for k in p["keys"]]
    rows = table.rows
    default = table.default

    def fn(vals: Any) -> Any:
        vals = tuple("" if x is None else x for x in vals)
        for k in keys:
            try:
                key = k.format(*vals)
            except IndexError:
                continue
            hit = rows.get(key)
            if hit is not None:
                return hit
        return default

    return fn


def _flag_class(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    table: Table = tables[p["table"]]
    order = list(table.rows.items())

    @lru_cache(maxsize=4096)
    def classify(flags: str) -> Any:
        present = set(re.split(r"[|,\s]+", flags.upper()))
        for flag, cls in order:
            if flag in present:
                return cls
        return table.default

    return lambda v: classify(v) if isinstance(v, str) else None


_KV_SPLIT = re.compile(r"\s+|,(?=[A-Za-z_][A-Za-z0-9_]*=)")


@lru_cache(maxsize=65536)
def parse_kv(text: str) -> Optional[Dict[str, str]]:
    """``key=value`` pairs split on whitespace (or ``,key=`` in old DNS Data); value after the first ``=``.

    Tokens without ``=`` are ignored (``lsm=CAPABLE CAP_NET_RAW`` keeps ``lsm``).
    The result is cached and must not be mutated by callers.
    """
    out: Dict[str, str] = {}
    for tok in _KV_SPLIT.split(text):
        if not tok:
            continue
        k, sep, val = tok.partition("=")
        if sep and k and k not in out:
            out[k] = val
    return out or None


def _kv(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    return lambda v: parse_kv(v) if isinstance(v, str) and v else None


def _split_list(p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    sep = str(p.get("separator", ","))

    def fn(v: Any) -> Any:
        if isinstance(v, str):
            items = v.split(sep)
        elif isinstance(v, list):
            items = v
        else:
            return None
        out: List[str] = []
        for item in items:
            if not isinstance(item, str):
                item = str(item)
            item = item.strip()
            if item.endswith("..."):  # UI truncation: the tail is not a real tag
                item = item[:-3].strip()
                if not item:
                    continue
            if item and item not in out:
                out.append(item)
        return out or None

    return fn


@lru_cache(maxsize=16384)
def split_labels(raw: str) -> Optional[Tuple[str, ...]]:
    """``app=nginx,tier=web`` -> ``("app:nginx", "tier:web")``; space-joined SaaS form too."""
    text = raw.strip()
    if text.endswith("..."):
        text = text[:-3]
    parts = text.split(",") if "," in text or " " not in text else text.split()
    out: List[str] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        k, sep, v = part.partition("=")
        if not sep or not k:
            continue  # a truncated tail without "=" is not a label
        item = f"{k}:{v}"
        if item not in out:
            out.append(item)
    return tuple(out) or None


def _labels(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    def fn(v: Any) -> Any:
        if not isinstance(v, str) or not v:
            return None
        res = split_labels(v)
        return list(res) if res else None

    return fn


@lru_cache(maxsize=16384)
def split_image(image: str) -> Optional[Tuple[Optional[str], Optional[str], Optional[str]]]:
    """``registry:5000/app:1.2@sha256:ab`` -> ``("registry:5000/app", "1.2", "sha256:ab")``.

    The tag is after the last ``:`` that follows the last ``/``, so a registry
    port is never mistaken for a tag.
    """
    name, at, digest = image.partition("@")
    tag: Optional[str] = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :] or None
    return (name or None, tag, (digest or None) if at else None)


def _image(_p: Mapping[str, Any], _t: Mapping[str, Any]) -> Fn:
    def fn(v: Any) -> Any:
        if not isinstance(v, str) or not v:
            return None
        parts = split_image(v)
        if parts is None:
            return None
        return {"name": parts[0], "tag": parts[1], "digest": parts[2]}

    return fn


def _severity_level(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    # The preset is chosen when the mapper is built (tables["__severity_preset__"]).
    presets = tables[p["presets"]]
    chosen = tables["__severity_preset__"]
    scale = {int(k): v for k, v in presets[chosen].items()}
    levels = frozenset(scale.values())
    default = tables["__default_severity_level__"]

    def fn(v: Any) -> Any:
        # an int is a KubeArmor Severity; a level name (a default from the settings) passes through
        if isinstance(v, int) and not isinstance(v, bool):
            return scale.get(v, default)
        if isinstance(v, str) and v in levels:
            return v
        return default

    return fn


def _mitre(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    pats: Table = tables[p["patterns"]]
    tactic = re.compile(str(pats.rows["tactic"]), re.IGNORECASE)
    technique = re.compile(str(pats.rows["technique"]), re.IGNORECASE)

    def _name(s: Optional[str], fallback: str) -> str:
        return s.replace("_", " ").strip() if s else fallback

    def fn(tags: Any) -> Any:
        if not isinstance(tags, list):
            return None
        out: Dict[str, List[str]] = {}
        for tag in tags:
            m = tactic.match(tag)
            if m:
                tid = m.group(1).upper()
                if tid not in out.setdefault("tactic_id", []):
                    out["tactic_id"].append(tid)
                    out.setdefault("tactic_name", []).append(_name(m.group(2), tid))
                continue
            m = technique.match(tag)
            if m:
                tid = m.group(1).upper()
                name = _name(m.group(3), tid)
                if m.group(2):
                    sid = f"{tid}.{m.group(2)}"
                    if sid not in out.setdefault("subtechnique_id", []):
                        out["subtechnique_id"].append(sid)
                        out.setdefault("subtechnique_name", []).append(name)
                if tid not in out.setdefault("technique_id", []):
                    out["technique_id"].append(tid)
                    out.setdefault("technique_name", []).append(name)
        if not out:
            return None
        out = {k: v for k, v in out.items() if v}
        out["framework"] = "MITRE ATT&CK"  # type: ignore[assignment]
        return out

    return fn


def valid_ip(text: str) -> Optional[str]:
    """The address when ``text`` is a valid IPv4/IPv6 literal, else ``None``.

    An invalid value in an ``ip`` field makes Elasticsearch reject the whole document.
    """
    # The original spelling is kept: Elasticsearch keeps _source as sent, the
    # ingest pipeline cannot re-format addresses, and Python versions disagree
    # on IPv4-mapped IPv6 text.
    candidate = text.strip().strip("[]")
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return candidate


_valid_ip = lru_cache(maxsize=65536)(valid_ip)


def _port(text: Any) -> Optional[int]:
    if isinstance(text, int) and not isinstance(text, bool):
        n = text
    elif isinstance(text, str) and text.isdigit():
        n = int(text)
    else:
        return None
    return n if 0 <= n <= 65535 else None


_PEER_TRANSPORTS = ("tcp", "udp", "icmp")


def _network(p: Mapping[str, Any], tables: Mapping[str, Any]) -> Fn:
    """Inputs ``(action, resource_kv, data_kv, Resource)`` -> network facts dict.

    How each form is read comes from the ``network_forms`` table; families,
    transports and firewall directions from their tables.
    """
    forms: Table = tables[p["forms"]]
    families: Table = tables[p["families"]]
    transports: Table = tables[p["transports"]]
    directions: Table = tables[p["directions"]]

    def fn(vals: Any) -> Any:
        action, res, data, resource = vals
        form = forms.rows.get(action) if action else None
        if form is None:
            return None
        res = res or {}
        data = data or {}
        out: Dict[str, Any] = {}
        if form.get("firewall"):
            src, dst = _valid_ip(data.get("SourceIP", "")), _valid_ip(data.get("DestinationIP", ""))
            if src:
                out["source_ip"] = src
            if dst:
                out["destination_ip"] = dst
            sp, dp = _port(data.get("SourcePort")), _port(data.get("DestinationPort"))
            if sp is not None:
                out["source_port"] = sp
            if dp is not None:
                out["destination_port"] = dp
            proto = data.get("Protocol")
            if proto:
                out["transport"] = transports.get(proto) or proto.lower()
            direction = directions.get(resource)
            if direction:
                out["direction"] = direction
            ip = src or dst
            if ip:
                out["type"] = "ipv6" if ":" in ip else "ipv4"
            if (src or dst) and out.get("transport") in _PEER_TRANSPORTS:
                out["has_peer"] = True
            return out or None
        source = form.get("source")
        kv = res if source == "resource" else data if source == "data" else {}
        fam_key = form.get("family")
        family = kv.get(fam_key) if fam_key else None
        if form.get("family_from_data"):
            family = data.get(form["family_from_data"]) or family
        if family:
            out["family"] = family
            ntype = families.get(family)
            if ntype:
                out["type"] = ntype
        transport = form.get("transport")
        for key in form.get("transport_from") or ():
            if transport:
                break
            raw = kv.get(key)
            if raw:
                transport = transports.get(raw.split("|", 1)[0])
        if transport:
            out["transport"] = transport
        if form.get("protocol"):
            out["protocol"] = form["protocol"]
        if form.get("dns_name"):
            name = kv.get(form["dns_name"])
            if name:
                out["dns_name"] = name
            qtype = kv.get(form.get("dns_type", ""))
            if qtype:
                out["dns_type"] = qtype
        if form.get("dns_name_from_resource") and isinstance(resource, str) and resource:
            out["dns_name"] = resource
        if "sun_path" in kv:
            out["unix_path"] = kv["sun_path"]
        addr_key = form.get("address")
        addr = _valid_ip(kv.get(addr_key, "")) if addr_key else None
        port = form.get("fixed_port")
        if port is None and form.get("port"):
            port = _port(kv.get(form["port"]))
        if form.get("local_only"):
            if addr:
                out["local_address"] = addr
            if port is not None:
                out["local_port"] = port
            return out or None
        peer = form.get("peer")
        if addr and peer:
            out[f"{peer}_ip"] = addr
            if "type" not in out:
                out["type"] = "ipv6" if ":" in addr else "ipv4"
        if port is not None and peer:
            side = form.get("port_side", peer)
            out[f"{side}_port"] = port
        if form.get("direction") and (addr or port is not None or out.get("dns_name")):
            out["direction"] = form["direction"]
        if "remotehost" in kv:
            out["remote_host"] = kv["remotehost"]
        # Network_Traffic needs a peer and a known transport (cim-mapping.md section 4).
        if addr and out.get("transport") in _PEER_TRANSPORTS:
            out["has_peer"] = True
        return out or None

    return fn


for _spec in (
    TransformSpec("copy", _copy, "any", doc="the value unchanged", keeps_text=True),
    TransformSpec("string", _string, "keyword", doc="scalar as text (numbers, booleans)", keeps_text=True),
    TransformSpec("integer", _integer, "long", doc="integer or numeric string as int"),
    TransformSpec("integer_in_range", _integer_in_range, "long", ("min", "max"), ("min", "max")),
    TransformSpec("lowercase", _lowercase, "keyword"),
    TransformSpec("uppercase", _uppercase, "keyword"),
    TransformSpec("basename", _basename, "keyword", doc="last path segment of the command word"),
    TransformSpec("dirname", _dirname, "keyword"),
    TransformSpec("extension", _extension, "keyword"),
    TransformSpec("args", _args, "keyword[]", doc="split a command line on whitespace"),
    TransformSpec("command_word", _command_word, "keyword", doc="first word of a command line"),
    TransformSpec("strip_prefix", _strip_prefix, "keyword", ("prefix",), ("prefix",)),
    TransformSpec("regex", _regex, "keyword", ("pattern",), ("pattern",), doc="first group of a match"),
    TransformSpec("format", _format, "keyword", ("template",), ("template",)),
    TransformSpec("date", _date, "date", doc="epoch seconds or a KubeArmor time string -> ISO 8601 UTC"),
    TransformSpec("lookup", _lookup, "table", ("table", "default"), ("table",)),
    TransformSpec("keyed_lookup", _keyed_lookup, "table", ("table", "keys"), ("table", "keys"), multi_input=True),
    TransformSpec("flag_class", _flag_class, "table", ("table",), ("table",)),
    TransformSpec("kv", _kv, "object", doc="space-separated key=value pairs -> map"),
    TransformSpec("split_list", _split_list, "keyword[]", ("separator",)),
    TransformSpec("labels", _labels, "keyword[]", doc="pod labels k=v,... -> [k:v, ...]"),
    TransformSpec("image", _image, "object", doc="container image -> {name, tag, digest}"),
    TransformSpec("severity_level", _severity_level, "keyword", ("presets",), ("presets",)),
    TransformSpec("mitre", _mitre, "object", ("patterns",), ("patterns",)),
    TransformSpec(
        "network", _network, "object", ("forms", "families", "transports", "directions"),
        ("forms", "families", "transports", "directions"), multi_input=True,
        doc="network Resource/Data forms -> source/destination/transport/direction/dns facts",
    ),
):
    register(_spec)
