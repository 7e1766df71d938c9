# Databricks "Expectation recommendations and advanced patterns" (ldp/expectation-patterns):
# quarantine invalid records with one temporary table partitioned on the rule outcome and two
# views over it. The page reads a CSV file of farmers markets; so does this copy.
import dlt
from pyspark.sql.functions import expr

rules = {}
rules["valid_website"] = "(Website IS NOT NULL)"
rules["valid_location"] = "(Location IS NOT NULL)"
quarantine_rules = "NOT({0})".format(" AND ".join(rules.values()))


@dlt.view
def raw_farmers_market():
    return spark.read.format("csv").option("header", "true").load(spark.conf.get("conformance.markets_path"))


@dlt.table(temporary=True, partition_cols=["is_quarantined"])
@dlt.expect_all(rules)
def farmers_market_quarantine():
    return (
        dlt.read("raw_farmers_market")
        .select("MarketName", "Website", "Location", "State")
        .withColumn("is_quarantined", expr(quarantine_rules))
    )


@dlt.view
def valid_farmers_market():
    return dlt.read("farmers_market_quarantine").filter("is_quarantined=false")


@dlt.view
def invalid_farmers_market():
    return dlt.read("farmers_market_quarantine").filter("is_quarantined=true")


@dlt.table
def valid_markets_by_state():
    return dlt.read("valid_farmers_market").groupBy("State").count()


@dlt.table
def quarantined_markets():
    return dlt.read("invalid_farmers_market").select("MarketName")
