"""Elapsed time and ETA of the training progress line, on a fake clock."""

from flanjax.train.progress import Progress, format_seconds


def test_eta_ignores_the_compile_step():
    now = [100.0]
    p = Progress(start_step=10, total_steps=110, clock=lambda: now[0])
    now[0] += 60.0  # step 11 compiles for a minute
    p.step_done(11)
    assert p.describe(11) == "elapsed 0:01:00, ETA ?"
    now[0] += 9.0  # then 0.5 s a step
    p.step_done(29)
    assert p.eta_seconds(29) == 0.5 * 81
    assert p.describe(29) == "elapsed 0:01:09, ETA 0:00:40"
    assert format_seconds(3 * 3600 + 62) == "3:01:02"
