# Databricks "Use Azure Event Hubs as a pipeline data source" (ldp/event-hubs): Event Hubs read
# through its Kafka endpoint, the key from a secret scope, the Databricks-shaded JAAS class, the
# settings from the pipeline configuration, a parse function adding audit columns.
import dlt
import pyspark.sql.types as T
from pyspark.sql.functions import col, current_timestamp, expr, from_json

EH_NAMESPACE = spark.conf.get("iot.ingestion.eh.namespace")
EH_NAME = spark.conf.get("iot.ingestion.eh.name")
EH_CONN_SHARED_ACCESS_KEY_NAME = spark.conf.get("iot.ingestion.eh.accessKeyName")
SECRET_SCOPE = spark.conf.get("io.ingestion.eh.secretsScopeName")
EH_CONN_SHARED_ACCESS_KEY_VALUE = dbutils.secrets.get(scope=SECRET_SCOPE, key=EH_CONN_SHARED_ACCESS_KEY_NAME)

EH_CONN_STR = (
    f"Endpoint=sb://{EH_NAMESPACE}.servicebus.windows.net/;"
    f"SharedAccessKeyName={EH_CONN_SHARED_ACCESS_KEY_NAME};SharedAccessKey={EH_CONN_SHARED_ACCESS_KEY_VALUE}"
)

KAFKA_OPTIONS = {
    "kafka.bootstrap.servers": f"{EH_NAMESPACE}.servicebus.windows.net:9093",
    "subscribe": EH_NAME,
    "kafka.sasl.mechanism": "PLAIN",
    "kafka.security.protocol": "SASL_SSL",
    "kafka.sasl.jaas.config": "kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="$ConnectionString" password="{EH_CONN_STR}";',
    "kafka.request.timeout.ms": spark.conf.get("iot.ingestion.kafka.requestTimeout"),
    "kafka.session.timeout.ms": spark.conf.get("iot.ingestion.kafka.sessionTimeout"),
    "maxOffsetsPerTrigger": spark.conf.get("iot.ingestion.spark.maxOffsetsPerTrigger"),
    "failOnDataLoss": spark.conf.get("iot.ingestion.spark.failOnDataLoss"),
    "startingOffsets": spark.conf.get("iot.ingestion.spark.startingOffsets"),
}

payload_ddl = "device_id BIGINT, device_name STRING, humidity BIGINT, temp BIGINT, timestamp BIGINT"
payload_schema = T._parse_datatype_string(payload_ddl)


def parse(df):
    return (
        df.withColumn("records", col("value").cast("string"))
        .withColumn("parsed_records", from_json(col("records"), payload_schema))
        .withColumn(
            "iot_event_timestamp", expr("cast(from_unixtime(parsed_records.timestamp / 1000) as timestamp)")
        )
        .withColumn("eh_enqueued_timestamp", expr("timestamp"))
        .withColumn("etl_processed_timestamp", current_timestamp())
        .drop("records", "value", "key")
    )


@dlt.table(comment="Raw IOT Events", table_properties={"quality": "bronze"})
def iot_raw():
    return parse(spark.readStream.format("kafka").options(**KAFKA_OPTIONS).load())
