"""The HTTP layer: dependencies, routes, and the app factory in :mod:`orders_lakehouse.serving.app`."""
