"""Benchmark suite (run with ``accuknox-siem bench`` or ``python -m bench``)."""
