"""Consumers of the Gold layer: a read-only REST API, the web dashboard and alert delivery.

Serving reads Gold tables and the pipeline event log only (never Bronze or Silver), through a
small backend protocol with two implementations: local Delta tables read without a JVM
(``deltalake``) and a Databricks SQL warehouse (``databricks-sdk`` statement execution).
"""
