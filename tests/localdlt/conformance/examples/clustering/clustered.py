# Databricks' table reference (ldp/developer/ldp-python-ref-table): cluster_by enables liquid
# clustering on the listed columns; cluster_by_auto lets Databricks choose them.
import dlt


@dlt.table(cluster_by=["customer", "order_date"], comment="orders clustered for customer lookups")
def orders_clustered():
    return spark.readStream.schema("order_id INT, customer STRING, order_date DATE").json(
        spark.conf.get("conformance.orders_path")
    )


@dlt.table(cluster_by_auto=True)
def orders_auto():
    return dlt.read("orders_clustered")
