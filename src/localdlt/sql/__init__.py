"""Databricks pipeline SQL files for localdlt.

``grammar`` and ``parse``: the pipeline statements (lark; no Spark); ``query``: the query inside
a statement, analysed by Spark's parser, run through the pipeline's read resolver;
``register``: statements -> the same definitions as the Python decorators. Supported SQL and
differences from Databricks: ``docs/localdlt-sql.md``.
"""
