"""Plain ``DataFrame -> DataFrame`` functions behind the pipeline's decorated shells.

One module per job: ``settings`` (pipeline configuration), ``bronze``, ``pii``, ``rules``
(every rule kept as data), ``silver`` (typing, validation, quarantine, dedup), ``current_state``
(CDC feeds and status transitions), ``star`` (fact and dimensions), ``kpis`` and ``alerts``.
Nothing here imports ``dlt``: every function is unit-tested with a plain SparkSession.
"""
