"""The definition -> SPL translation: property tests against the vocabulary, generated-event parity, refusals.

Each regex the translator writes for a vocabulary transform is compared with the
Python function itself on generated inputs (ASCII: Splunk's PCRE and Python
disagree on non-ASCII whitespace and digits, a documented limit), and whole
generated events go through the rendered props.conf and the mapper.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Dict, List

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.mapping import Mapper, load_definition
from integrations.mapping.definition import DEFAULT_PATH, parse_definition
from integrations.mapping.vocabulary import TRANSFORMS, _port, basename, parse_kv, valid_ip
from integrations.render import spl
from integrations.render.splunk_objects import kv_value, mitre_item_pattern, port
from integrations.render.splunk_objects import valid_ip as spl_valid_ip
from integrations.render.splunk_props import props_conf, severity_csv
from integrations.render.splunk_translate import Translator, UntranslatableError
from tests.support.spl.evallang import evaluate, parse_eval
from tests.support.spl.parity import SOURCETYPE_PREFIX, compare, rendered_app

DEFN = load_definition()
TARGETS = list(DEFN.cim_targets())
MAPPER = Mapper(DEFN)
X = spl.field("x")
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(expr: spl.Expr, **fields: Any) -> Any:
    """Evaluate a rendered expression the way an EVAL would (text result or null)."""
    v = evaluate(parse_eval(expr.spl()), fields)
    return None if v is None else (str(v) if not isinstance(v, list) else v)


def none_if_empty(v: Any) -> Any:
    return None if v in (None, "") else v


# =========================================================================== value translations


IPV6_PIECES = st.lists(st.integers(0, 0xFFFF).map(lambda n: format(n, "x")), min_size=1, max_size=9)


@st.composite
def ipv6_like(draw: Any) -> str:
    """IPv6-ish text: hextets, an optional '::' at a random place, an optional IPv4 tail and scope."""
    parts = draw(IPV6_PIECES)
    if draw(st.booleans()):
        i = draw(st.integers(0, len(parts)))
        parts = parts[:i] + [""] + parts[i:]
        if i == 0:
            parts = [""] + parts
        if i == len(parts) - 1:
            parts = parts + [""]
    text = ":".join(parts)
    if draw(st.booleans()):
        text += ":" + draw(st.ip_addresses(v=4).map(str))
    if draw(st.integers(0, 4)) == 0:
        text += "%" + draw(st.sampled_from(["eth0", "1", "a b", "x/y", "", "%"]))
    if draw(st.booleans()):
        text = draw(st.sampled_from(["[", " ", "[[", " ["])) + text + draw(st.sampled_from(["]", " ", "] ", ""]))
    return text


IP_TEXT = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded),
    ipv6_like(),
    st.text(alphabet="0123456789abcdefABCDEF:.%[] /x\t", max_size=45),
    st.lists(st.integers(0, 300).map(str), min_size=3, max_size=5).map(".".join),
    st.sampled_from(["01.2.3.4", "1.2.3.4%e", "::", ":::", "1::", "::1.2.3.4", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7",
                     "1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5::1.2.3.4", "fe80::1%", "fe80::1%a%b", "[::1]", "[1.2.3.4] "]),
)


@PROPERTY
@given(IP_TEXT)
def test_valid_ip_matches_ipaddress(text: str) -> None:
    assert run(spl_valid_ip(spl.nonempty(X)), x=text) == valid_ip(text)


def test_valid_ip_known_values() -> None:
    for text, want in [("10.0.0.1", "10.0.0.1"), (" [::ffff:10.1.2.3] ", "::ffff:10.1.2.3"), ("010.0.0.1", None),
                       ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1::2:3:4:5:6:7:8", None), ("fe80::1%eth0", "fe80::1%eth0")]:
        assert run(spl_valid_ip(X), x=text) == want, text
        assert (want is not None) == _python_valid(text.strip().strip("[]"))


def _python_valid(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


@PROPERTY
@given(st.one_of(st.integers(0, 99999).map(str), st.text(alphabet="0123456789x -", max_size=8),
                 st.integers(0, 70000).map(lambda n: "00" + str(n))))
def test_port_matches_vocabulary(text: str) -> None:
    got = run(port(spl.nonempty(X)), x=text)
    want = _port(text)
    assert got == (None if want is None else str(want))


KV_TOKENS = st.lists(st.tuples(
    st.sampled_from(["syscall", "lsm", "flags", "domain", "a_1", "Key", "", "=x"]),
    st.sampled_from(["=", "", "=="]),
    st.text(alphabet="abAB_,=|.", max_size=6),
    st.sampled_from([" ", ",", "  ", "\t", ", "]),
), max_size=6)


@PROPERTY
@given(KV_TOKENS, st.sampled_from(["syscall", "lsm", "flags", "domain", "a_1", "Key"]))
def test_kv_key_matches_parse_kv(tokens: List[Any], key: str) -> None:
    text = "".join(k + eq + v + sep for k, eq, v, sep in tokens).strip()
    parsed = parse_kv(text) if text else None
    want = none_if_empty((parsed or {}).get(key))
    assert run(kv_value(spl.nonempty(X), key, "test"), x=text) == want


PATHS = st.text(alphabet="ab/ .-\t\n", max_size=16)


@PROPERTY
@given(PATHS)
def test_basename_and_command_word_match_vocabulary(text: str) -> None:
    tr = Translator(DEFN)
    b = tr.chain(spl.nonempty(X), [("basename", {})], "test")
    c = tr.chain(spl.nonempty(X), [("command_word", {})], "test")
    assert run(b, x=text) == (basename(text) if text else None)
    cw = TRANSFORMS["command_word"].build({}, {})(text) if text else None
    assert run(c, x=text) == cw


@PROPERTY
@given(st.text(alphabet="0123456789 -+x", max_size=6))
def test_integer_in_range_matches_vocabulary(text: str) -> None:
    tr = Translator(DEFN)
    expr = tr.chain(spl.nonempty(X), [("integer_in_range", {"min": 1, "max": 10})], "test")
    fn = TRANSFORMS["integer_in_range"].build({"min": 1, "max": 10}, {})
    want = fn(text) if text else None
    got = run(expr, x=text)
    assert got == (None if want is None else str(want))


TAG_PIECES = st.sampled_from([
    "MITRE", "mitre", "MITRE_T1036", "MITRE_T1036_masquerading", "mitre-t1059.004_unix shell", "MITRE_TA0001",
    "MITRE_TA0002_execution", "MITRE_T1036...", "MITRE_T1036_...", "  MITRE_T1552 ... ", "MITRE_T10361",
    "MITRE_T1036 x", "NIST", "MITRE_T1082_system_information_discovery", "...", "", "MITRE_T1565.001",
    "MITRE_T1565.0011", "FGT1555", "MITRE_t1003_os", "MITRE_T1036\n", "MITRE_T1036_a\nb",
])


@PROPERTY
@given(st.lists(TAG_PIECES, max_size=6), st.booleans())
def test_mitre_technique_ids_match_the_mapper(tags: List[str], as_list: bool) -> None:
    mapper = MAPPER
    fields: Dict[str, Any] = {"ATags": tags} if as_list else {"Tags": ",".join(tags)}
    if not as_list and "\n" in fields["Tags"]:
        fields["Tags"] = fields["Tags"].replace("\n", " ")
    want = mapper.to_cim(fields).get("mitre_technique_id")
    got = _app().process(json.dumps(fields), SOURCETYPE_PREFIX + "alert").get("mitre_technique_id")
    want_text = None if want is None else (want[0] if len(want) == 1 else want)
    assert got == want_text


def test_mitre_item_pattern_refuses_unanchored_patterns() -> None:
    with pytest.raises(UntranslatableError, match="anchored"):
        mitre_item_pattern("MITRE_(TA\\d{4})", "^MITRE_(T\\d{4})$", "test")


# =========================================================================== generated events

_APP: List[Any] = []


def _app() -> Any:
    if not _APP:
        _APP.append(rendered_app(DEFN))
    return _APP[0]


IPS = st.one_of(st.ip_addresses().map(str), st.sampled_from(["10.0.0.1", "::ffff:10.0.0.1", "[fe80::1]", "01.2.3.4",
                                                              "bad", "1.2.3", "fe80::1%eth0"]))
PORTS = st.one_of(st.integers(0, 70000).map(str), st.sampled_from(["0080", "x", "65535", "65536"]))
DATA_TOKENS = st.one_of(
    st.sampled_from(["SYS_CONNECT", "SYS_ACCEPT", "SYS_OPEN", "SYS_OPENAT", "SYS_EXECVE", "SYS_UNLINK", "sys_rmdir",
                     "SYS_SOCKET", "SYS_BIND", "SYS_TCP_CONNECT", "SYS_MKDIR", "SYS_RENAME", "bogus"]).map(
        lambda v: "syscall=" + v),
    st.sampled_from(["kprobe=tcp_connect", "kprobe=tcp_accept", "kfunc=UDP_SENDMSG", "kfunc=udp_sendskb",
                     "lsm=SOCKET_CONNECT", "lsm=SOCKET_SENDMSG", "lsm=FILE_OPEN", "lsm=SOCKET_CREATE", "lsm=FILE_MKDIR",
                     "domain=AF_INET", "domain=AF_INET6", "domain=example.com", "qtype=A", "fd=3", "Protocol=TCP",
                     "Protocol=udp", "Protocol=ICMP", "Protocol=SCTP", "lsm=CAPABLE CAP_NET_RAW"]),
    st.lists(st.sampled_from(["O_RDONLY", "O_WRONLY", "O_CREAT", "O_RDWR", "O_TRUNC", "O_CLOEXEC"]), min_size=1,
             max_size=3).map(lambda f: "flags=" + "|".join(f)),
    IPS.map(lambda ip: "daddr=" + ip), IPS.map(lambda ip: "SourceIP=" + ip), IPS.map(lambda ip: "DestinationIP=" + ip),
    PORTS.map(lambda p: "SourcePort=" + p), PORTS.map(lambda p: "DestinationPort=" + p),
)
RESOURCES = st.one_of(
    st.tuples(IPS, PORTS).map(lambda t: f"sa_family=AF_INET sin_port={t[1]} sin_addr={t[0]}"),
    st.tuples(IPS, PORTS, st.sampled_from(["TCP", "TCPv6", "UDP"])).map(
        lambda t: f"remoteip={t[0]} port={t[1]} protocol={t[2]}"),
    st.sampled_from(["domain=AF_INET type=SOCK_STREAM|SOCK_NONBLOCK protocol=0", "protocol=TCP type=SOCK_STREAM",
                     "INGRESS", "egress", "sa_family=AF_UNIX sun_path=/var/run/x.sock", "/usr/bin/apt update",
                     "/bin/sh -c ls", "/etc/", "relative", "/a//b/", "SYS_UNLINK", "google.com"]),
)
COMMANDS = st.sampled_from(["/usr/bin/apt", "/bin/sh -c x", "/usr/sbin/nginx/", "sh", "/x y/z", "a//b"])
OPTIONAL_TEXT = st.one_of(st.none(), st.sampled_from(["a", "p-1", "Block", "Audit", "DefaultPosture"]))


ACTION_TOKENS = st.sampled_from([
    "syscall=SYS_CONNECT", "syscall=SYS_ACCEPT", "syscall=SYS_OPEN", "syscall=SYS_OPENAT", "syscall=SYS_EXECVE",
    "syscall=SYS_UNLINK", "syscall=sys_rmdir", "syscall=SYS_SOCKET", "syscall=SYS_BIND", "syscall=SYS_TCP_CONNECT",
    "syscall=SYS_MKDIR", "syscall=SYS_RENAME", "syscall=bogus", "kprobe=tcp_connect", "kprobe=tcp_accept",
    "kfunc=UDP_SENDMSG", "kfunc=udp_sendskb", "lsm=SOCKET_CONNECT", "lsm=SOCKET_SENDMSG", "lsm=FILE_OPEN",
    "lsm=SOCKET_CREATE", "lsm=FILE_MKDIR", "lsm=CAPABLE CAP_NET_RAW",
])


@st.composite
def canonical_events(draw: Any) -> Dict[str, Any]:
    """Canonical events of coherent shapes (DNS, TCP, firewall, file, process ...) with random details."""
    ev: Dict[str, Any] = {}

    def maybe(key: str, strategy: Any) -> None:
        v = draw(st.one_of(st.none(), strategy))
        if v is not None:
            ev[key] = v

    shape = draw(st.sampled_from(["tcp", "dns", "firewall", "sockaddr", "file", "process", "random"]))
    tokens: List[str] = []
    if shape == "tcp":
        ev["Operation"] = "Network"
        tokens.append(draw(st.sampled_from(["kprobe=tcp_connect", "kprobe=tcp_accept"])))
        tokens.append(draw(st.sampled_from(["domain=AF_INET", "domain=AF_INET6", "domain=bogus"])))
        ip, prt = draw(IPS), draw(PORTS)
        ev["Resource"] = f"remoteip={ip} port={prt} protocol={draw(st.sampled_from(['TCP', 'TCPv6']))}"
    elif shape == "dns":
        ev["Operation"] = "Network"
        tokens.append(draw(st.sampled_from(["kfunc=UDP_SENDMSG", "kfunc=udp_sendskb"])))
        tokens.append("daddr=" + draw(IPS))
        tokens.append("domain=" + draw(st.sampled_from(["example.com", "a.b"])))
    elif shape == "firewall":
        ev["Operation"] = "NetworkFirewall"
        ev["Resource"] = draw(st.sampled_from(["INGRESS", "egress", "other"]))
        tokens.extend(["SourceIP=" + draw(IPS), "DestinationIP=" + draw(IPS), "SourcePort=" + draw(PORTS),
                       "DestinationPort=" + draw(PORTS)])
        tokens.append("Protocol=" + draw(st.sampled_from(["TCP", "udp", "ICMP", "ICMPv6", "SCTP"])))
        ev["Type"] = draw(st.sampled_from(["MatchedNetworkPolicy", "MatchedPolicy"]))
    elif shape == "sockaddr":
        ev["Operation"] = "Network"
        tokens.append(draw(st.sampled_from(["syscall=SYS_CONNECT", "syscall=SYS_ACCEPT", "syscall=SYS_BIND"])))
        ev["Resource"] = draw(RESOURCES)
    elif shape == "file":
        ev["Operation"] = draw(st.sampled_from(["File", "file", "Syscall"]))
        ev["Type"] = draw(st.sampled_from(["ContainerLog", "HostLog", "MatchedPolicy"]))
        tokens.append(draw(st.sampled_from(["syscall=SYS_OPEN", "syscall=SYS_OPENAT", "syscall=SYS_UNLINK",
                                            "syscall=sys_rmdir", "syscall=SYS_MKDIR", "syscall=SYS_RENAME",
                                            "syscall=SYS_FCHOWNAT", "lsm=FILE_OPEN", "lsm=FILE_MKDIR",
                                            "lsm=FILE_CHMOD", "syscall=SYS_CLOSE"])))
        ev["Resource"] = draw(st.sampled_from(["/etc/passwd", "/tmp/x/", "rel", "/a b/c"]))
    elif shape == "process":
        ev["Operation"] = "Process"
        tokens.append("syscall=" + draw(st.sampled_from(["SYS_EXECVE", "SYS_EXECVEAT"])))
        ev["Resource"] = draw(COMMANDS)
    else:
        maybe("Operation", st.sampled_from(["Process", "File", "Network", "NetworkFirewall", "Syscall",
                                            "Capabilities", "process", "FILE", "network"]))
        tokens.extend(draw(st.lists(ACTION_TOKENS, max_size=2)))
        maybe("Resource", RESOURCES)
    tokens.extend(draw(st.lists(DATA_TOKENS, max_size=2)))
    tokens = draw(st.permutations(tokens)) if draw(st.booleans()) else tokens
    if tokens:
        ev["Data"] = draw(st.sampled_from([" ", ","])).join(tokens)
    if "Type" not in ev:
        maybe("Type", st.sampled_from(["MatchedPolicy", "MatchedHostPolicy", "MatchedNetworkPolicy", "SystemEvent",
                                       "ContainerLog", "HostLog", "containerlog", "Other"]))
    for key in ("ProcessName", "ParentProcessName", "Source"):
        maybe(key, COMMANDS)
    maybe("Result", st.sampled_from(["Passed", "Permission denied", "operation not permitted", "Unknown"]))
    maybe("Severity", st.one_of(st.integers(0, 12), st.sampled_from(["Medium", " 7 ", "010"])))
    for key in ("PolicyName", "Action", "Enforcer", "Message"):
        maybe(key, OPTIONAL_TEXT)
    maybe("HostName", st.sampled_from(["node-1", "ip-10-0-0-1"]))
    maybe("PodName", st.sampled_from(["web-1", "db-0"]))
    maybe("ClusterName", st.sampled_from(["c1"]))
    maybe("UID", st.integers(0, 2000))
    maybe("UserName", st.sampled_from(["root", "nobody"]))
    maybe("HostPID", st.integers(1, 99999))
    maybe("HostPPID", st.integers(0, 99999))
    maybe("PPID", st.integers(0, 99))
    maybe("Cwd", st.sampled_from(["/", "/tmp"]))
    maybe("HashAlgo", st.sampled_from(["sha256", "SHA256", "md5"]))
    maybe("ProcessHash", st.sampled_from(["ab12"]))
    maybe("ResourceHash", st.sampled_from(["cd34"]))
    maybe("HashID", st.sampled_from(["h-1"]))
    maybe("ExecEvent", st.sampled_from([{"ExecID": "0"}, {"ExecID": "42"}, {"ExecutableName": "x"}]))
    maybe("ATags", st.lists(TAG_PIECES.filter(lambda t: "\n" not in t), max_size=3))
    maybe("Tags", st.lists(TAG_PIECES.filter(lambda t: "\n" not in t), max_size=3).map(",".join))
    maybe("Timestamp", st.integers(1_600_000_000, 1_800_000_000))
    maybe("UpdatedTime", st.sampled_from(["2024-03-08T08:07:33.906000Z"]))
    return ev


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(canonical_events(), st.sampled_from(["alert", "log"]), st.sampled_from(["rename", "keep"]))
def test_generated_events_keep_parity(fields: Dict[str, Any], stream: str, collisions: str) -> None:
    mapper = MAPPER
    got = _app().process(json.dumps(fields), SOURCETYPE_PREFIX + stream, collisions=collisions)
    assert compare(mapper.to_cim(fields), got, TARGETS) == []


# =========================================================================== refusals and settings


def _variant(mutate: Any) -> Any:
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    return parse_definition(yaml.safe_dump(raw, sort_keys=False))


@pytest.mark.parametrize("rule,message", [
    ({"id": "bad-dirname", "when": {"Operation": "File"}, "from": "Resource", "transform": ["dirname"],
      "cim": "file_path"}, r"rule bad-dirname: transform 'dirname'.*cannot be rendered"),
    ({"id": "bad-regex-lookup", "from": "Resource", "transform": [{"regex": {"pattern": "(x*)"}},
                                                                  {"lookup": {"table": "cim_app"}}], "cim": "app"},
     r"rule bad-regex-lookup: transform 'lookup' after 'regex'"),
    ({"id": "bad-net-key", "from": "$net.nope", "cim": "dest"}, r"bad-net-key.*\$net\.nope"),
    ({"id": "bad-object", "from": "EventData", "cim": "dest"}, r"bad-object.*EventData.*object"),
    ({"id": "bad-pyregex", "from": "Resource", "transform": [{"regex": {"pattern": "(?P<n>x)"}}], "cim": "dest"},
     r"bad-pyregex.*differs between Python and PCRE"),
])
def test_untranslatable_rules_fail_rendering_with_their_id(rule: Dict[str, Any], message: str) -> None:
    defn = _variant(lambda raw: raw["rules"].insert(0, rule))
    with pytest.raises(UntranslatableError, match=message):
        props_conf(defn)


def test_severity_csv_follows_the_configured_preset() -> None:
    def ui(raw: Dict[str, Any]) -> None:
        raw["settings"]["severity_preset"] = "accuknox_ui"

    defn = _variant(ui)
    rows = dict(line.split(",") for line in severity_csv(defn).splitlines()[1:])
    assert rows["1"] == "critical" and rows["10"] == "informational"
    mapper, app = Mapper(defn), rendered_app(defn)
    for sev in range(0, 12):
        fields = {"Type": "MatchedPolicy", "Severity": sev, "Operation": "File"}
        got = app.process(json.dumps(fields), SOURCETYPE_PREFIX + "alert")
        assert compare(mapper.to_cim(fields), got, TARGETS) == []


def test_system_event_notice_level() -> None:
    fields = {"Type": "SystemEvent", "Operation": "AlertThreshold", "Severity": 9}
    got = _app().process(json.dumps(fields), SOURCETYPE_PREFIX + "alert")
    assert got["severity"] == DEFN.settings["notice_severity_level"] == MAPPER.to_cim(fields)["severity"]


def test_render_is_deterministic() -> None:
    assert props_conf(DEFN) == props_conf(load_definition())


def test_switch_fusion_is_exact_for_peer_gated_fields() -> None:
    """``if($peer, $net.x)`` is rendered per form; check the fused form equals the plain one on generated events."""
    tr = Translator(DEFN)
    rule = next(r for r in DEFN.rules if r.id == "cim-net-dest-ip")
    fused = tr.rule(rule)
    assert isinstance(fused, spl.Switch)
    peer = tr.fact(("peer",), "test")
    dest_ip = tr.fact(("net", "destination_ip"), "test")
    plain = spl.if_(spl.Op("==", (peer.plain() if isinstance(peer, spl.Switch) else peer, spl.Lit("true"))),
                    dest_ip.plain() if isinstance(dest_ip, spl.Switch) else dest_ip)
    for fields in ({"Operation": "Network", "Data": "kprobe=tcp_connect", "Resource": "remoteip=10.0.0.1 port=443"},
                   {"Operation": "Network", "Data": "kfunc=UDP_SENDMSG,daddr=10.0.0.2"},
                   {"Operation": "NetworkFirewall", "Data": "SourceIP=1.1.1.1 DestinationIP=2.2.2.2 Protocol=TCP"},
                   {"Operation": "Network", "Data": "syscall=SYS_CONNECT", "Resource": "sin_addr=10.0.0.3"}):
        assert run(fused, **fields) == run(plain, **fields), fields



@pytest.mark.parametrize("field,probe", [
    ("dest_ip", lambda rec: "dest_ip" in rec),
    ("src_ip", lambda rec: "src_ip" in rec),
    ("mitre", lambda rec: len(rec.get("mitre_technique_id") or []) >= 2),
    ("file action", lambda rec: rec.get("action") in ("created", "deleted", "modified", "acl_modified")),
    ("severity", lambda rec: rec.get("severity") == "critical"),
    ("process guid", lambda rec: "process_guid" in rec),
])
def test_the_event_generator_reaches_each_mapping_path(field: str, probe: Any) -> None:
    """The generated-event parity test is only as good as its events: each path must be reachable."""
    from hypothesis import Phase, find

    find(canonical_events(), lambda ev: probe(MAPPER.to_cim(ev)),
         settings=settings(max_examples=3000, deadline=None, database=None, phases=[Phase.generate]))


ADVERSARIAL = [
    "a" * 3000, "1" * 3000 + ".", ":" * 1000 + "1", "f" * 1000 + ":1.2.3.4", "k=" * 1000, "a=b," * 1000,
    "MITRE_T1036_" + " " * 1000 + "x...", "," * 1000, " " * 3000 + "x", "MITRE_T1036_" + "." * 1000,
    "/" * 2000 + "a", "1." * 1000, "[" * 1000 + "1.2.3.4" + "]" * 1000, "SYS_" + "A" * 3000 + " ",
]


def test_no_generated_regex_backtracks_catastrophically() -> None:
    """Every regex in props.conf stays fast on long adversarial input (PCRE in Splunk has match limits)."""
    import time

    from tests.support.spl.conf import parse_conf
    from tests.support.spl.pcre import compile_pcre

    body = parse_conf(props_conf(DEFN))["accuknox:kubearmor:alert"]
    patterns = set()
    for key, value in body.items():
        if key.startswith("EVAL-"):
            patterns.update(_regex_literals(parse_eval(value)))
    assert len(patterns) > 20
    for pattern in patterns:
        rx = compile_pcre(pattern)
        for text in ADVERSARIAL:
            start = time.perf_counter()
            rx.search(text)
            assert time.perf_counter() - start < 0.05, (pattern[:80], text[:20])


def _regex_literals(node: Any) -> List[str]:
    from tests.support.spl.evallang import Call, Lit

    out: List[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call):
            if n.name in ("match", "replace") and isinstance(n.args[1], Lit):
                out.append(n.args[1].value)
            stack.extend(n.args)
        stack.extend(c for c in (getattr(n, "left", None), getattr(n, "right", None), getattr(n, "arg", None)) if c)
    return out
