"""Fixtures of this folder live in pipeline_support.py (importable by the tests, unlike a conftest)."""

from pipeline_support import *  # noqa: F401,F403 - fixtures for pytest, helpers for the tests
