"""An offline Splunk search-time evaluator for the knowledge objects we generate (test support).

Not product code. It reproduces, for exactly the subset of Splunk configuration
that ``integrations/render/splunk_props.py`` and ``splunk_knowledge.py`` emit,
what a Splunk search head does with an event at search time, so the parity
tests can run the rendered ``props.conf``/``transforms.conf``/lookups/
``eventtypes.conf``/``tags.conf`` against the Python mapper without a Splunk:

* :mod:`.conf` - ``.conf`` files (stanzas, keys, comments, continuation lines);
* :mod:`.pcre` - the PCRE subset we emit, translated to Python ``re`` with PCRE's
  (non-UCP) semantics; anything else is rejected rather than guessed;
* :mod:`.evallang` - the EVAL expression language: parser and interpreter with
  Splunk's null semantics;
* :mod:`.search` - the search-language subset of our eventtypes;
* :mod:`.searchtime` - ``KV_MODE = json`` extraction and the search-time order
  of operations (``REPORT`` -> auto-KV -> ``FIELDALIAS`` -> ``EVAL`` ->
  ``LOOKUP`` -> eventtypes -> tags).

Where Splunk's behaviour could not be confirmed offline the module says so
(``ASSUMPTION`` in the docstrings); the evaluator prefers to raise
:class:`SplError` over silently picking one reading.
"""

from __future__ import annotations


class SplError(Exception):
    """The configuration or expression uses something this evaluator does not model (or models as an error)."""


__all__ = ["SplError"]
