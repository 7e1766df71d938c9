-- Databricks' read_kafka table-valued function (SQL reference, "Streaming ingestion from Kafka"):
-- a streaming table over a topic, the JSON value's fields extracted. The page writes the
-- extraction with Databricks' `:` JSON path operator on a string (value::string:id), which
-- open-source Spark applies to VARIANT values only: get_json_object says the same.
CREATE OR REFRESH STREAMING TABLE kafka_events AS
SELECT
  key::string AS key,
  get_json_object(value::string, '$.id')::int AS id,
  get_json_object(value::string, '$.amount')::double AS amount,
  topic,
  offset
FROM STREAM read_kafka(
  bootstrapServers => '${conformance.kafka_servers}',
  subscribe => '${conformance.kafka_topic}',
  startingOffsets => 'earliest'
);
