"""Operate the deployed orders pipeline on a Databricks workspace through databricks-sdk.

``connect`` finds the workspace and the deployed pipeline, ``updates`` starts and watches updates,
``events`` reads the event log (raw REST: the SDK's typed events drop ``details``) and derives
expectation metrics, ``render`` prints tables, ``cli`` is ``orders-lakehouse pipeline``.
"""
