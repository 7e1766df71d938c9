"""Benchmarks: each ``bench/bench_<name>.py`` has ``main(argv) -> int`` and prints its figures.

Run them all with ``make bench`` (``python -m bench``) or one with ``python -m bench <name>``.
Results are recorded in ``bench/RESULTS.md`` with the command that produced them. Benchmarks
compare ratios side by side in one run: the machines are noisy, absolute numbers are not.
"""
