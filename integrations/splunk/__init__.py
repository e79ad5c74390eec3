"""The Splunk app (``TA-accuknox``): its modular input logic and its build.

* :mod:`integrations.splunk.modinput` – what the app's ``accuknox_alerts``
  modular input runs (stanza → ``PollSettings``, account → ``AlertsClient``,
  ``Poller.run_once`` into a :class:`~integrations.splunk.modinput.ModInputSink`);
  plain Python, vendored into the app's ``lib/`` and tested without Splunk.
* :mod:`integrations.splunk.build` – builds, packages and inspects the app from
  ``splunk_app/`` with UCC and AppInspect in their own virtualenvs (never
  vendored into the app).
"""
