"""Test helpers: fake servers on 127.0.0.1 and shared fixtures data."""
