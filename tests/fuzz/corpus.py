"""Seed inputs per fuzz entry point: generated events, the shared corpus when present, hostile values."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List

from integrations.emulator import generate_events

SHARED = Path(os.environ.get("ACCUKNOX_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared")) / "corpus"

#: values that stress decoders and coercions
HOSTILE_SCALARS = [
    b"NaN", b"-NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e-400", b"-0", b"-0.0",
    b"18446744073709551616", b"-9223372036854775809", b"9" * 400, b"0x10", b"1_000", b"00012", b".5", b"5.",
    b'"\\ud800"', b'"\\udfff\\ud800"', b'"\\u0000"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b"true", b"null", b"[]", b"{}",
    b'"2023-02-30T25:61:61Z"', b'"99999-01-01T00:00:00Z"', b'"1.252488e+06"', b'"map[Name:x Ref:"', b'"[a b"',
]


def _karmor_block(ev: Dict) -> str:
    lines = [f"== {'Alert' if ev.get('PolicyName') else 'Log'} / "
             f"{str(ev.get('UpdatedTime', '2023-03-22T06:40:00.241489Z')).replace('T', ' ').rstrip('Z')} =="]
    for k, v in ev.items():
        if isinstance(v, dict):
            v = "map[" + " ".join(f"{a}:{b}" for a, b in v.items()) + "]"
        elif isinstance(v, list):
            v = "[" + " ".join(map(str, v)) + "]"
        lines.append(f"{k}: {v}")
    return "\n".join(lines) + "\n"


def generated(n: int = 40) -> List[Dict]:
    return list(generate_events(n, seed=11, start=1_767_225_600 - 3600, rate=n / 3600))


def seeds() -> Dict[str, List[bytes]]:
    events = generated()
    lines = [json.dumps(e).encode() for e in events]
    out: Dict[str, List[bytes]] = {k: [] for k in ("parser", "page", "karmor_text", "mapper", "config",
                                                   "config_values")}
    out["parser"] += lines[:10] + [b"\n".join(lines[:5]), json.dumps(events[:4]).encode(),
                                   json.dumps(events[0], indent=2).encode(), _karmor_block(events[1]).encode()]
    out["page"] += [json.dumps({"response": events[i:i + 3]}).encode() for i in range(0, 30, 3)]
    out["page"] += [b'{"response": null}', b'{"count": 3}', b'{"errors": "Key: \'AlertsLog.PageID\'"}',
                    b'{"message": "Unauthorized"}', b'{"response": [[1]]}', b'[]']
    out["karmor_text"] += [_karmor_block(e).encode() for e in events[:8]]
    out["mapper"] += lines[10:25]
    if SHARED.is_dir():
        for p in sorted((SHARED / "real").glob("*.jsonl")) + sorted((SHARED / "synthetic").glob("*.jsonl")):
            data = p.read_bytes().splitlines()
            out["parser"] += data[:20]
            out["mapper"] += data[:10]
            if "api" in p.name:
                out["page"] += data[:20]
        text = SHARED / "real" / "karmor-text-samples.txt"
        if text.exists():
            blocks = text.read_bytes().split(b"\n=====\n")
            out["karmor_text"] += [b for b in blocks if b.strip()][:60]
            out["parser"] += [b for b in blocks if b.strip()][:20]
    out["config"] += [
        b'url = "https://cwpp.demo.accuknox.com"\ntenant_id = "11"\n',
        b'[pull]\nurl = "http://127.0.0.1:8080"\ntenant_id = "7"\nlookback = "24h"\noverlap = 600\n'
        b'filter = ["Action=Block", "PodName~=nginx.*"]\nsink = "file:../../etc"\nstate = "/tmp/../s.json"\n',
        b'url = "ftp://example.com"\ntenant_id = "1"\n',
        b'url = "http://example.com"\ntenant_id = "1"\n',
        b'url = "https://[::1]:443/path"\ntenant_id = "1"\npage_size = 100\nmax_pages = 3\nrate_limit = 2.5\n',
        b'url = "file:///etc/passwd"\ntenant_id = "1"\n',
        b'url = "https://a.b"\ntenant_id = "1"\ntoken = "secret"\n',
        b"https://cwpp.demo.accuknox.com\n11\nACCUKNOX_TOKEN\nfile:./out\n./state.json\n10m\n24h\n600\n60\n1h\n100\n"
        b"1000\nc1,c2\nAction=Block\nactive\necs\n",
        b"http://localhost:9\n3\nTOKEN_VAR\nes:http://127.0.0.1:9200\n/dev/null\n\n1w\n0\n0\n1\n1\n1\n",
        b"javascript:alert(1)\n1\n",
        b"http://127.0.0.1.evil.com\n1\n",
        b"https://user:pass@host:99999\n1\n",
        b"http://[::ffff:127.0.0.1]/\n1\n",
    ]
    out["config_values"] += [
        b"https://cwpp.demo.accuknox.com", b"http://127.0.0.1:1", b"http://localhost", b"http://[::1]:80",
        b"ftp://x", b"file:///etc/passwd", b"gopher://x", b"http://10.0.0.1", b"https://", b"https://h?q=1",
        b"https://h#f", b"HTTPS://H/", b"http://127.1", b"http://0x7f.1", b"d24h", b"d10m", b"d-1", b"d1e3",
        b"d99999999999999999999w", b"fAction=Block", b"fPod~=.*", b"fA!=", b"phttp://proxy:3128", b"pproxy",
    ]
    return out
