# spark.sql inside query functions (Databricks Python reference; open-source Spark 4.1 does the
# same): dataset names in the SQL text resolve to pipeline datasets, STREAM(...) reads a stream.
import dlt


@dlt.table
def orders_raw():
    return spark.readStream.schema("order_id INT, customer STRING, amount DOUBLE").json(
        spark.conf.get("conformance.orders_path")
    )


@dlt.view
def big_orders():
    return spark.sql("SELECT * FROM orders_raw WHERE amount >= 100")


@dlt.table
def orders_clean():
    return spark.sql(
        "SELECT o.order_id, upper(o.customer) AS customer, o.amount FROM STREAM(LIVE.orders_raw) AS o"
    )


@dlt.table
def big_order_totals():
    return spark.sql(
        "WITH b AS (SELECT * FROM big_orders) "
        "SELECT customer, sum(amount) AS total FROM b WHERE order_id IN (SELECT order_id FROM orders_clean) "
        "GROUP BY customer"
    )
