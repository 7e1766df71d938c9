"""The catch-up benchmark's pipeline (three datasets) and its hand-written twin."""
