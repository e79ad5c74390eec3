"""AccuKnox / KubeArmor SIEM integrations.

Flow: raw input (files, API pages) -> ``events`` (canonical event) -> ``mapping``
(one definition, compiled into the mapper) -> ECS document / CIM record ->
``sinks``. ``render`` turns the same definition into Elasticsearch and Splunk
artifacts; only ``cli`` writes files.
"""

__version__ = "0.1.0"
