"""Side-by-side benchmarks of flanjax against the usual baselines (not tests).

Each script measures both sides in one process, alternating repeats so that noise from a
shared machine hits both alike, prints a table, and ends with one line of JSON holding its
figures and `ratio` (flanjax over the baseline). `python -m benchmarks.run_all` runs them
all; see BENCHMARKS.md for the current numbers and the exact commands.
"""
