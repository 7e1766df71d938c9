"""The order event contract v1: the JSON Schema document (single source of truth), the Spark
schema derived from it, and the catalog of bad inputs used by fixtures and the simulator."""
