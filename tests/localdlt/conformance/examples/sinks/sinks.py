# Databricks "Stream records to external services with pipeline sinks" (ldp/sinks): a Delta sink
# by path and an append flow into it reading a pipeline table with spark.readStream.table.
import dlt


@dlt.table
def taxi_raw():
    return spark.readStream.schema("id INT, name STRING, fare DOUBLE").json(
        spark.conf.get("conformance.taxi_path")
    )


dlt.create_sink(name="delta_sink", format="delta", options={"path": spark.conf.get("conformance.sink_path")})


@dlt.append_flow(name="delta_sink_flow", target="delta_sink")
def delta_sink_flow():
    return spark.readStream.table("taxi_raw").select("id", "name")
