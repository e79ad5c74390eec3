"""Fuzzing of the input side: parser, page decoder, karmor text reader, mapper, config loader.

``targets.py`` – the entry points and how an outcome is classified;
``corpus.py`` – seed inputs; ``mutate.py`` – byte/structure mutators;
``run.py`` – the mutation runner (``python -m tests.fuzz.run --inputs 1000000``);
``test_fuzz.py`` – the bounded property-based tests CI runs.
"""
