"""A fake splunkd REST API on 127.0.0.1: what the modular input reads through solnlib.

Serves, in splunkd's Atom XML (what splunklib parses), for one session key
(``Authorization: Splunk <key>``, 401 otherwise):

* ``GET /servicesNS/<owner>/<app>/properties/<conf>`` – 200 when the conf file
  exists (splunklib's ``Configurations[...]``), else 404;
* ``GET /servicesNS/<owner>/<app>/configs/conf-<conf>[/<stanza>]`` with an
  optional ``name=`` filter – the stanzas, each with ``eai:acl``;
* ``GET /servicesNS/<owner>/<app>/storage/passwords`` with an optional
  ``search=realm=<realm>`` – the password entries with ``clear_password``.

:meth:`FakeSplunkd.set_encrypted` stores secrets the way UCC does (solnlib's
``CredentialManager.set_password``): the conf field holds ``******``, the
realm ``__REST_CREDENTIAL__#<app>#configs/conf-<conf>`` holds a JSON object of
the stanza's encrypted fields, split into 255-character parts named
``<stanza>``splunk_cred_sep``<n>`` followed by an end-mark entry. Recorded
requests (``requests`` of :class:`FakeHTTPServer`) let tests assert what was
asked.
"""

from __future__ import annotations

import json
import ssl
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote
from xml.sax.saxutils import escape

from tests.support.fake_http import FakeHTTPServer, Request, Response

SEP = "``splunk_cred_sep``"
END_MARK = (
    "``splunk_cred_sep``S``splunk_cred_sep``P``splunk_cred_sep``L``splunk_cred_sep``"
    "U``splunk_cred_sep``N``splunk_cred_sep``K``splunk_cred_sep``"
)
CHUNK = 255
PLACEHOLDER = "******"  # what splunktaucclib writes (solnlib decrypts exactly this)


def _value(v: Any) -> str:
    if isinstance(v, dict):
        inner = "".join(f'<s:key name="{escape(str(k))}">{_value(x)}</s:key>' for k, x in v.items())
        return f"<s:dict>{inner}</s:dict>"
    if isinstance(v, list):
        return "<s:list>" + "".join(f"<s:item>{_value(x)}</s:item>" for x in v) + "</s:list>"
    return escape("" if v is None else str(v))


class FakeSplunkd(FakeHTTPServer):
    """See the module docstring."""

    def __init__(self, session_key: str, *, app: str = "TA-accuknox",
                 ssl_context: Optional[ssl.SSLContext] = None) -> None:
        super().__init__(ssl_context=ssl_context)
        self.session_key = session_key
        self.app = app
        self.confs: Dict[str, Dict[str, Dict[str, Any]]] = {}
        #: (realm, username, clear_password)
        self.passwords: List[Tuple[str, str, str]] = []
        ns = r"/servicesNS/(?P<owner>[^/]+)/(?P<app>[^/]+)"
        self.route("GET", ns + r"/properties/(?P<conf>[^/]+)/?", self._properties)
        self.route("GET", ns + r"/configs/conf-(?P<conf>[^/]+?)(?:/(?P<stanza>[^/]+))?/?", self._configs)
        self.route("GET", ns + r"/storage/passwords/?", self._passwords)

    # ------------------------------------------------------------------ state

    def set_stanza(self, conf: str, stanza: str, fields: Dict[str, Any]) -> None:
        self.confs.setdefault(conf, {})[stanza] = dict(fields)

    def set_encrypted(self, conf: str, stanza: str, fields: Dict[str, Any], encrypted: Dict[str, str]) -> None:
        """Store ``fields`` plus ``encrypted`` the way UCC does (placeholder + chunked password entries)."""
        realm = f"__REST_CREDENTIAL__#{self.app}#configs/conf-{conf}"
        self.passwords = [p for p in self.passwords if not (p[0] == realm and p[1].split(SEP)[0] == stanza)]
        data = dict(fields)
        data.update({k: PLACEHOLDER for k in encrypted})
        self.set_stanza(conf, stanza, data)
        clear = json.dumps(encrypted)
        parts = [clear[i:i + CHUNK] for i in range(0, len(clear), CHUNK)] + [END_MARK]
        for n, part in enumerate(parts, 1):
            self.passwords.append((realm, f"{stanza}{SEP}{n}", part))

    # ------------------------------------------------------------------ responses

    def _authorized(self, req: Request) -> bool:
        return req.headers.get("authorization") == f"Splunk {self.session_key}"

    def _unauthorized(self) -> Response:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<response><messages>'
                '<msg type="WARN">call not properly authenticated</msg></messages></response>')
        return Response(401, body, {"Content-Type": "text/xml; charset=utf-8"})

    def _not_found(self, what: str) -> Response:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<response><messages>'
                f'<msg type="ERROR">{escape(what)} does not exist</msg></messages></response>')
        return Response(404, body, {"Content-Type": "text/xml; charset=utf-8"})

    def _feed(self, req: Request, title: str, entries: List[Tuple[str, str, Dict[str, Any]]]) -> Response:
        base = self.url
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" '
               'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">',
               f"<title>{escape(title)}</title>", f"<id>{escape(base + req.path)}</id>",
               "<updated>2026-01-01T00:00:00+00:00</updated>",
               '<generator build="fake" version="9.4.0"/>', "<author><name>Splunk</name></author>",
               f"<opensearch:totalResults>{len(entries)}</opensearch:totalResults>",
               "<opensearch:itemsPerPage>30</opensearch:itemsPerPage>",
               "<opensearch:startIndex>0</opensearch:startIndex>", "<s:messages/>"]
        for name, path, content in entries:
            content = dict(content)
            content.setdefault("eai:acl", {"app": self.app, "owner": "nobody", "sharing": "app",
                                           "can_write": "1", "modifiable": "1", "removable": "1",
                                           "perms": {"read": ["*"], "write": ["admin", "sc_admin"]}})
            out += ["<entry>", f"<title>{escape(name)}</title>", f"<id>{escape(base + path)}</id>",
                    "<updated>2026-01-01T00:00:00+00:00</updated>",
                    f'<link href="{escape(path)}" rel="alternate"/>', "<author><name>nobody</name></author>",
                    f'<link href="{escape(path)}" rel="list"/>',
                    f'<content type="text/xml">{_value(content)}</content>', "</entry>"]
        out.append("</feed>")
        return Response(200, "\n".join(out), {"Content-Type": "text/xml; charset=utf-8"})

    def _properties(self, req: Request) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        conf = req.match.group("conf")
        if conf not in self.confs:
            return self._not_found(f"conf file {conf}")
        prefix = f"/servicesNS/nobody/{self.app}/properties/{conf}"
        return self._feed(req, conf, [(s, f"{prefix}/{quote(s, safe='')}", {}) for s in self.confs[conf]])

    def _configs(self, req: Request) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        conf = req.match.group("conf")
        stanzas = self.confs.get(conf, {})
        wanted = req.match.group("stanza") or req.param("name")
        if wanted is not None:
            if wanted not in stanzas:
                return self._not_found(f"stanza {wanted} in {conf}.conf")
            stanzas = {wanted: stanzas[wanted]}
        prefix = f"/servicesNS/nobody/{self.app}/configs/conf-{conf}"
        return self._feed(req, f"conf-{conf}", [(s, f"{prefix}/{quote(s, safe='')}", dict(v, disabled="0"))
                                                for s, v in stanzas.items()])

    def _passwords(self, req: Request) -> Response:
        if not self._authorized(req):
            return self._unauthorized()
        search = req.param("search") or ""
        rows = self.passwords
        if search.startswith("realm="):
            rows = [p for p in rows if p[0] == search[len("realm="):]]
        elif search:
            rows = [p for p in rows if any(search in x for x in p)]
        prefix = f"/servicesNS/nobody/{self.app}/storage/passwords"
        entries = []
        for realm, username, clear in rows:
            name = f"{realm}:{username}:"
            entries.append((name, f"{prefix}/{quote(name, safe='')}",
                            {"clear_password": clear, "encr_password": "$7$fake", "password": PLACEHOLDER,
                             "realm": realm, "username": username}))
        return self._feed(req, "passwords", entries)
