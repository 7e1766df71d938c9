# Databricks "Use ForEachBatch to write to arbitrary data sinks in pipelines" (ldp/for-each-batch)
# and the foreach_batch_sink reference: a ForEachBatch sink that upserts every micro-batch into a
# Delta table with MERGE, rewrites it on batch 0 (a fresh stream or a full refresh), and an
# append flow feeding it.
import json
import os

from delta.tables import DeltaTable
from pyspark import pipelines as dp

TARGET = spark.conf.get("conformance.upsert_target")
CALLS = spark.conf.get("conformance.calls_file")


@dp.foreach_batch_sink(name="upsert_sink")
def upsert(df, batch_id):
    session = df.sparkSession
    if batch_id == 0 or not os.path.isdir(os.path.join(TARGET, "_delta_log")):
        df.write.format("delta").mode("overwrite").save(TARGET)
    else:
        (
            DeltaTable.forPath(session, TARGET).alias("t")
            .merge(df.alias("s"), "t.id = s.id")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
    with open(CALLS, "a") as calls:
        calls.write(json.dumps({"batch_id": batch_id, "rows": df.count()}) + "\n")


@dp.append_flow(target="upsert_sink", name="upsert_flow")
def changes():
    return spark.readStream.schema("id INT, name STRING").json(spark.conf.get("conformance.changes_path"))
