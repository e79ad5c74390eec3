"""Elasticsearch and Kibana installation: ``setup`` (assets), ``kibana`` (saved objects), ``roles``.

Reads the committed assets of the ``elastic_ingest`` package; never renders and
never writes files. The CLI front end is ``integrations/commands/elastic.py``.
"""
