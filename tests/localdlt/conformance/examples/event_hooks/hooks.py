# Databricks "Define custom monitoring of pipelines with event hooks" (ldp/event-hooks): a hook
# that keeps the events it is given, and a hook that raises, with max_allowable_consecutive_failures.
import json

import dlt

SEEN = spark.conf.get("conformance.seen_file")


@dlt.on_event_hook
def write_events(event):
    if event["event_type"] == "update_progress":
        with open(SEEN, "a") as seen:
            seen.write(json.dumps(event["details"]["update_progress"]["state"]) + "\n")


@dlt.on_event_hook(max_allowable_consecutive_failures=1)
def always_fails(event):
    raise RuntimeError("alerting endpoint unreachable")


@dlt.table
def numbers():
    return spark.range(3)
