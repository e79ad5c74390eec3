"""SPL for the keys of object-valued facts: ``kv`` maps, ``network`` forms and ``mitre`` tags.

Consumes: a :class:`~integrations.render.splunk_translate.Translator` and one fact
whose transform chain ends in ``kv``, ``network`` or ``mitre``. Produces the SPL
expression of one key (``$data.syscall``, ``$net.destination_ip``,
``$mitre.technique_id``), reproducing :mod:`integrations.mapping.vocabulary`:

* ``kv``: the value of the *first* token ``key=...`` (tokens split on whitespace
  or on a comma that starts another ``key=``), found with one anchored
  ``replace()``;
* ``network``: a :class:`~integrations.render.spl.Switch` on the event action
  over the ``network_forms`` rows; each form's outputs follow ``_network``
  (peer side, fixed port, family/transport tables, firewall ``Data`` keys) and
  addresses are validated with a regex that accepts exactly what Python's
  ``ipaddress.ip_address`` accepts (IPv4 without leading zeros, every IPv6 text
  form incl. an IPv4 tail and a ``%scope``);
* ``mitre``: technique ids from ``ATags{}`` (per value, ``mvmap``) or from the
  comma-separated ``Tags`` (a global ``replace`` per item), after
  ``split_list``'s trimming and "..." removal, tactics excluded, upper-cased,
  de-duplicated in order.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Tuple

from integrations.mapping.definition import Source, Step
from integrations.mapping.vocabulary import _PEER_TRANSPORTS, Table
from integrations.render import spl
from integrations.render.spl import NULL, Expr, Switch
from integrations.render.splunk_translate import LIST_FIELDS, Translator, UntranslatableError

__all__ = ["FIREWALL_KEYS", "IP_PATTERN", "PORT_PATTERN", "NetworkForms", "kv_value", "mitre_item_pattern",
           "object_key", "port", "valid_ip"]

# --------------------------------------------------------------------------- value patterns

_H = "[0-9A-Fa-f]{1,4}"
_O = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)"
_V4 = f"{_O}(?:\\.{_O}){{3}}"
_END = "(?:%|\\z)"
#: ``ipaddress.ip_address`` as a regex: a dotted quad (no leading zeros), or IPv6 - eight hextets, six and
#: an IPv4 tail, or one "::" with at most seven (five before an IPv4 tail) hextets, counted by a look-ahead
#: whose runs are maximal (each ends at a colon), so it cannot backtrack exponentially - with an optional %scope.
IP_PATTERN = (
    f"{_V4}|(?:(?:{_H}:){{7}}{_H}"
    f"|(?=:*(?:[0-9A-Fa-f]+(?::+|(?={_END}))){{0,7}}{_END})(?:(?:{_H}:)*{_H})?::(?:{_H}(?::{_H})*)?"
    f"|(?:(?:{_H}:){{6}}|(?=:*(?:[0-9A-Fa-f]+:+){{0,5}}[0-9.]+{_END})(?:(?:{_H}:)*{_H})?::(?:{_H}:)*){_V4}"
    f")(?:%[^%/]+)?"
)
#: ``vocabulary._port``: decimal digits (leading zeros allowed) up to 65535
PORT_PATTERN = "[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]"

#: keys of the firewall form's Data (``vocabulary._network``, ``firewall: true``)
FIREWALL_KEYS = {"source_ip": "SourceIP", "destination_ip": "DestinationIP", "source_port": "SourcePort",
                 "destination_port": "DestinationPort", "protocol": "Protocol"}
_KV_SEPARATOR = r"(?:[^\s,]|,(?![A-Za-z_]\w*=))*"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def kv_value(text: Expr, key: str, where: str) -> Expr:
    """``parse_kv(text).get(key)``: the first ``key=`` token's value, null when absent or empty."""
    if not _IDENT.fullmatch(key):
        raise UntranslatableError(f"{where}: kv key {key!r} is not an identifier (its token boundary differs)")
    pattern = f"^(?:[\\s\\S]*?(?:^|\\s|,){key}=({_KV_SEPARATOR})[\\s\\S]*|[\\s\\S]*)\\z"
    return spl.nonempty(spl.replace(spl.strip_nullif(text), pattern, r"\1"))


def valid_ip(text: Expr) -> Expr:
    """``vocabulary.valid_ip``: strip whitespace, then brackets; the address when valid, else null."""
    if text is NULL:
        return NULL
    stripped = spl.replace(spl.replace(spl.strip_nullif(text), r"^\s+|\s+\z", ""), r"^[\[\]]+|[\[\]]+\z", "")
    return spl.nonempty(spl.replace(stripped, f"^(?:({IP_PATTERN})|[\\s\\S]*)\\z", r"\1"))


def ip_type(ip: Expr) -> Expr:
    """``"ipv6" if ":" in ip else "ipv4"``."""
    if ip is NULL:
        return NULL
    return spl.replace(spl.replace(ip, r"^[^:]*\z", "ipv4"), r"^[\s\S]*:[\s\S]*\z", "ipv6")


def port(text: Expr) -> Expr:
    """``vocabulary._port``: the port number, null unless 0..65535 in decimal digits."""
    if text is NULL:
        return NULL
    return spl.call("tonumber", spl.replace(spl.strip_nullif(text), f"^(?:0*({PORT_PATTERN})|[\\s\\S]*)\\z", r"\1"),
                    nonempty=True, numeric=True)


# --------------------------------------------------------------------------- dispatch


def object_key(tr: Translator, step: Step, key: str, where: str) -> Expr:
    """``$fact.key`` for a ``kv``/``network``/``mitre`` fact, under the fact's own conditions."""
    if not step.transforms:
        raise UntranslatableError(f"{where}: ${step.name} is not an object")
    last = step.transforms[-1][0]
    if step.default is not None or step.fallback is not None:
        raise UntranslatableError(f"{where}: an object fact with a default is not translated")
    cache: Dict[Tuple[str, str], Expr] = tr.__dict__.setdefault("_object_keys", {})
    hit = cache.get((step.id, key))
    if hit is not None:
        return hit
    if last == "kv":
        if len(step.transforms) != 1 or step.inputs:
            raise UntranslatableError(f"{where}: only `from: X, transform: [kv]` is translated")
        value = kv_value(spl.coalesce(*[tr.source(s, where) for s in step.sources]), key, where)
    elif last == "network":
        forms = tr.__dict__.setdefault("_network", {})
        if step.id not in forms:
            forms[step.id] = NetworkForms(tr, step, where)
        value = forms[step.id].key(key, where)
    elif last == "mitre":
        value = mitre_key(tr, step, key, where)
    else:
        raise UntranslatableError(f"{where}: transform {last!r} has no key-wise SPL translation")
    value = tr.guard(step, value, where)
    cache[(step.id, key)] = value
    return value


def _kv_reader(tr: Translator, src: Source, where: str) -> Callable[[str], Expr]:
    if src.kind != "fact" or len(src.path) != 1:
        raise UntranslatableError(f"{where}: network inputs 2 and 3 must be kv facts ($res, $data)")
    fact = tr.fact_step(src.path[0])
    if not fact.transforms or fact.transforms[-1][0] != "kv":
        raise UntranslatableError(f"{where}: ${src.path[0]} is not a kv fact")
    return lambda k: object_key(tr, fact, k, where)


# --------------------------------------------------------------------------- network

_FORM_KEYS = {"source", "address", "port", "peer", "direction", "family", "family_from_data", "transport",
              "transport_from", "port_side", "fixed_port", "protocol", "dns_name", "dns_type",
              "dns_name_from_resource", "local_only", "firewall"}
NETWORK_KEYS = ("source_ip", "source_port", "destination_ip", "destination_port", "transport", "type",
                "direction", "protocol", "dns_name", "dns_type", "remote_host", "family", "local_address",
                "local_port", "unix_path", "has_peer")


class NetworkForms:
    """``network`` over ``(action, resource kv, data kv, Resource)`` as one switch per output key."""

    def __init__(self, tr: Translator, step: Step, where: str) -> None:
        if len(step.transforms) != 1 or len(step.inputs) != 4:
            raise UntranslatableError(f"{where}: network needs inputs [action, resource kv, data kv, Resource] "
                                      "and no further transform")
        params = step.transforms[0][1]
        self.tr = tr
        self.action = tr.source(step.inputs[0], where)
        self.res = _kv_reader(tr, step.inputs[1], where)
        self.data = _kv_reader(tr, step.inputs[2], where)
        self.resource = tr.source(step.inputs[3], where)
        self.forms: Table = tr.tables[params["forms"]]
        self.families: str = params["families"]
        self.transports: str = params["transports"]
        self.directions: str = params["directions"]
        self._outputs: Dict[str, Dict[str, Expr]] = {}
        for name, spec in self.forms.rows.items():
            if not isinstance(name, str) or not isinstance(spec, dict):
                raise UntranslatableError(f"{where}: network form {name!r} is not a text -> mapping row")
            unknown = set(spec) - _FORM_KEYS
            if unknown:
                raise UntranslatableError(f"{where}: network form {name!r}: keys {sorted(unknown)} have no SPL "
                                          "translation")

    def key(self, key: str, where: str) -> Expr:
        if key not in NETWORK_KEYS:
            raise UntranslatableError(f"{where}: $net.{key} is not an output of the network transform")
        branches = [((name,), self.outputs(name, spec, where).get(key, NULL)) for name, spec in self.forms.rows.items()]
        return Switch(self.action, branches)

    def lookup(self, value: Expr, table: str, where: str) -> Expr:
        return self.tr.lookup(value, table, where)

    def outputs(self, name: str, spec: Mapping[str, Any], where: str) -> Dict[str, Expr]:
        hit = self._outputs.get(name)
        if hit is None:
            hit = self._firewall(where) if spec.get("firewall") else self._form(spec, where)
            self._outputs[name] = hit
        return hit

    def _firewall(self, where: str) -> Dict[str, Expr]:
        src = valid_ip(self.data(FIREWALL_KEYS["source_ip"]))
        dst = valid_ip(self.data(FIREWALL_KEYS["destination_ip"]))
        proto = self.data(FIREWALL_KEYS["protocol"])
        transport = spl.coalesce(self.lookup(proto, self.transports, where), spl.call("lower", proto, nonempty=True))
        either = spl.coalesce(src, dst)
        return {
            "source_ip": src,
            "destination_ip": dst,
            "source_port": port(self.data(FIREWALL_KEYS["source_port"])),
            "destination_port": port(self.data(FIREWALL_KEYS["destination_port"])),
            "transport": transport,
            "direction": self.lookup(self.resource, self.directions, where),
            "type": ip_type(either),
            "has_peer": _peer(either, transport),
        }

    def _form(self, spec: Mapping[str, Any], where: str) -> Dict[str, Expr]:
        source = spec.get("source")
        kv: Callable[[str], Expr] = {"resource": self.res, "data": self.data}.get(
            str(source), lambda _k: NULL)
        fam_key, ffd = spec.get("family"), spec.get("family_from_data")
        family = spl.coalesce(self.data(str(ffd)) if ffd else NULL, kv(str(fam_key)) if fam_key else NULL)
        type_from_family = self.lookup(family, self.families, where)
        if spec.get("transport"):
            transport: Expr = spl.lit(str(spec["transport"]))
        else:
            transport = spl.coalesce(*[
                self.lookup(spl.nonempty(spl.replace(kv(str(k)), r"\|[\s\S]*\z", "")), self.transports, where)
                for k in spec.get("transport_from") or ()])
        out: Dict[str, Expr] = {"family": family, "type": type_from_family, "transport": transport,
                                "protocol": spl.lit(spec.get("protocol"))}
        if spec.get("dns_name"):
            out["dns_name"] = kv(str(spec["dns_name"]))
            out["dns_type"] = kv(str(spec["dns_type"])) if spec.get("dns_type") else NULL
        if spec.get("dns_name_from_resource"):
            out["dns_name"] = spl.coalesce(self.resource, out.get("dns_name", NULL))
        if source in ("resource", "data"):
            out["unix_path"] = kv("sun_path")
        addr = valid_ip(kv(str(spec["address"]))) if spec.get("address") else NULL
        if spec.get("fixed_port") is not None:
            the_port: Expr = spl.lit(int(spec["fixed_port"]))
        elif spec.get("port"):
            the_port = port(kv(str(spec["port"])))
        else:
            the_port = NULL
        if spec.get("local_only"):
            out["local_address"] = addr
            out["local_port"] = the_port
            return out
        peer = spec.get("peer")
        if peer:
            if peer not in ("source", "destination"):
                raise UntranslatableError(f"{where}: network form peer {peer!r} is not source/destination")
            out[f"{peer}_ip"] = addr
            out["type"] = spl.coalesce(type_from_family, ip_type(addr))
            side = spec.get("port_side", peer)
            if side not in ("source", "destination"):
                raise UntranslatableError(f"{where}: network form port_side {side!r} is not source/destination")
            out[f"{side}_port"] = the_port
        if spec.get("direction"):
            if isinstance(the_port, spl.Lit):
                out["direction"] = spl.lit(str(spec["direction"]))
            else:
                seen = spl.coalesce(addr, spl.call("tostring", the_port, nonempty=True) if the_port is not NULL
                                    else NULL, out.get("dns_name", NULL))
                out["direction"] = spl.if_(spl.isnotnull(seen), spl.lit(str(spec["direction"]))) \
                    if seen is not NULL else NULL
        if source in ("resource", "data"):
            out["remote_host"] = kv("remotehost")
        out["has_peer"] = _peer(addr, transport)
        return out


def _peer(addr: Expr, transport: Expr) -> Expr:
    """``has_peer``: an address and a transport in ``_PEER_TRANSPORTS`` -> ``"true"``."""
    if addr is NULL or transport is NULL:
        return NULL
    if isinstance(transport, spl.Lit):
        if transport.value not in _PEER_TRANSPORTS:
            return NULL
        cond = spl.isnotnull(addr)
    else:
        cond = spl.and_(spl.isnotnull(addr), spl.in_(transport, _PEER_TRANSPORTS))
    return spl.if_(cond, spl.Lit("true"))


# --------------------------------------------------------------------------- mitre


def _body(pattern: str, keep_first_group: bool, any_char: str, where: str) -> str:
    """A ``^...$`` pattern's body: anchors dropped, groups non-capturing (but the first), ``.`` -> ``any_char``."""
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
        raise UntranslatableError(f"{where}: mitre pattern {pattern!r} must be anchored with ^...$")
    body = pattern[1:-1]
    out: List[str] = []
    i, in_class, groups = 0, False, 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1:i + 2]
            if nxt in ("S", "W", "D", "s", "w", "Z", "A", "b", "B") and any_char != ".":
                raise UntranslatableError(f"{where}: mitre pattern {pattern!r}: \\{nxt} is not translated in a list")
            out.append(body[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "^" and body[i - 1] == "[" and any_char != ".":
                raise UntranslatableError(f"{where}: mitre pattern {pattern!r}: negated classes are not translated")
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
        elif c == "(" and body[i + 1:i + 2] != "?":
            groups += 1
            out.append("(" if keep_first_group and groups == 1 else "(?:")
        elif c == ".":
            out.append(any_char)
        elif c in "^$":
            raise UntranslatableError(f"{where}: mitre pattern {pattern!r}: inner anchors are not translated")
        else:
            out.append(c)
        i += 1
    if keep_first_group and groups == 0:
        raise UntranslatableError(f"{where}: mitre pattern {pattern!r} has no group for the id")
    return "".join(out)


def mitre_item_pattern(tactic: str, technique: str, where: str, separator: str = "") -> str:
    """A regex replacing one tag (whole text, or each ``separator``-delimited item) by its technique id or ``""``.

    Mirrors ``split_list`` (strip; a trailing "..." removed, then strip) and ``mitre``
    (a tactic tag is skipped; otherwise the technique pattern, case-insensitive).
    """
    if separator:
        if len(separator) != 1:
            raise UntranslatableError(f"{where}: split_list separator {separator!r}: only one character is translated")
        sep = spl.pcre_escape(separator)
        any_char, item, start, stop = f"[^{sep}\\n]", f"[^{sep}]*", f"(?:^|(?<={sep}))", f"(?={sep}|\\z)"
    else:
        any_char, item, start, stop = ".", "[\\s\\S]*", "^", "\\z"
    tac = _body(tactic, False, any_char, where)
    tech = _body(technique, True, any_char, where)
    end = r"(?<!\s)(?:\s*\.\.\.|(?<!\.\.\.))\s*"
    return f"{start}(?:\\s*(?!\\s)(?!(?i:{tac}){end}{stop})(?i:{tech}){end}|{item}){stop}"


def mitre_key(tr: Translator, step: Step, key: str, where: str) -> Expr:
    """``$mitre.technique_id`` (multivalue)."""
    if key != "technique_id":
        raise UntranslatableError(f"{where}: only $mitre.technique_id is translated (asked for {key!r})")
    if len(step.transforms) != 1 or len(step.sources) != 1 or step.sources[0].kind != "fact":
        raise UntranslatableError(f"{where}: mitre must read one split_list fact")
    patterns = tr.tables[step.transforms[0][1]["patterns"]]
    tags = tr.fact_step(step.sources[0].path[0])
    if [t for t, _p in tags.transforms] != ["split_list"] or tags.inputs or tags.default is not None:
        raise UntranslatableError(f"{where}: ${tags.name} must be `from: [fields], transform: [split_list]`")
    separator = str(tags.transforms[0][1].get("separator", ","))
    tactic, technique = str(patterns.rows["tactic"]), str(patterns.rows["technique"])
    result: Expr = NULL
    for src in reversed(tags.sources):
        if src.kind != "field" or len(src.path) != 1:
            raise UntranslatableError(f"{where}: ${tags.name} sources must be plain fields")
        name = src.path[0]
        if name in LIST_FIELDS:
            values = spl.field(f"{name}{{}}")
            per_item = spl.replace(values, mitre_item_pattern(tactic, technique, where), r"\1")
            ids = spl.call("mvjoin", spl.Call("mvmap", (values, per_item)), spl.Lit(","))
            present: Expr = spl.isnotnull(values)
        else:
            text = spl.nonempty(spl.field(name))
            ids = spl.replace(text, mitre_item_pattern(tactic, technique, where, separator), r"\1")
            present = spl.isnotnull(text)
        cleaned = spl.nonempty(spl.replace(spl.replace(spl.call("upper", ids), ",{2,}", ","), "^,|,\\z", ""))
        value = spl.call("mvdedup", spl.call("split", cleaned, spl.Lit(",")), nonempty=True)
        result = spl.if_(present, value, result)
    if tags.when or tags.unless:
        raise UntranslatableError(f"{where}: conditions on ${tags.name} are not translated")
    return result

