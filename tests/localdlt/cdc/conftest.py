"""Fixtures of this folder live in cdc_support.py (importable by the tests, unlike a conftest)."""

from cdc_support import *  # noqa: F401,F403 - fixtures for pytest, helpers for the tests
