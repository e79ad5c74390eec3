"""Least-privilege role definitions for the setup user, the poller's API key and the Kibana import.

Consumes: the data stream pattern (``logs-accuknox.*`` from the packaged
manifest). Produces: ready-to-send request bodies (``ecs-mapping.md`` §8,
"Security privileges"):

* setup role (``PUT /_security/role/accuknox_siem_setup``): cluster
  ``manage_ilm``, ``manage_index_templates``, ``manage_pipeline``, ``monitor``
  (``GET /`` and the reads before each write); index ``manage`` on the pattern,
  needed only for ``--create-data-streams`` and ``--rollover``;
* poller API key (``POST /_security/api_key``): index ``create_doc`` and
  ``auto_configure`` on the pattern - nothing else, no cluster privilege;
* Kibana role (``PUT /api/security/role/accuknox_siem_dashboards`` on Kibana):
  saved-object management, data views, dashboards and visualizations in one space.
"""

from __future__ import annotations

from typing import Any, Dict

__all__ = ["POLLER_KEY_NAME", "SETUP_ROLE", "KIBANA_ROLE", "role_definitions"]

SETUP_ROLE = "accuknox_siem_setup"
POLLER_ROLE = "accuknox_siem_poller"
POLLER_KEY_NAME = "accuknox-siem-poller"
KIBANA_ROLE = "accuknox_siem_dashboards"
SETUP_CLUSTER = ["manage_ilm", "manage_index_templates", "manage_pipeline", "monitor"]
POLLER_INDEX = ["create_doc", "auto_configure"]
KIBANA_FEATURES = {"savedObjectsManagement": ["all"], "indexPatterns": ["all"], "dashboard": ["all"],
                   "visualize": ["all"]}


def role_definitions(pattern: str, space: str = "default") -> Dict[str, Any]:
    """The three requests, keyed by purpose."""
    return {
        "setup_role": {
            "request": f"PUT /_security/role/{SETUP_ROLE}",
            "body": {
                "cluster": list(SETUP_CLUSTER),
                "indices": [{"names": [pattern], "privileges": ["manage"]}],
                "metadata": {"purpose": "accuknox-siem elastic setup",
                             "note": "the index privilege is only needed for --create-data-streams and --rollover"},
            },
        },
        "poller_api_key": {
            "request": "POST /_security/api_key",
            "body": {
                "name": POLLER_KEY_NAME,
                "role_descriptors": {POLLER_ROLE: {
                    "cluster": [],
                    "indices": [{"names": [pattern], "privileges": list(POLLER_INDEX)}],
                }},
                "metadata": {"purpose": "accuknox-siem pull --sink es:... (bulk create into the data streams)"},
            },
        },
        "kibana_role": {
            "request": f"PUT /api/security/role/{KIBANA_ROLE}  (Kibana API, header kbn-xsrf: true)",
            "body": {
                "elasticsearch": {"cluster": [], "indices": [{"names": [pattern], "privileges": ["read",
                                                                                                 "view_index_metadata"]}]},
                "kibana": [{"base": [], "feature": {k: list(v) for k, v in KIBANA_FEATURES.items()},
                            "spaces": [space]}],
            },
        },
    }
