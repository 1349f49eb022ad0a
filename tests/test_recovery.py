"""Corrupt checkpoints, leftover temp folders, replayed metrics and resume mismatches."""

import os

import numpy as np
import orbax.checkpoint as ocp
import pytest

from flanjax.train import recovery


def _run(tmp_path, steps=(1, 2, 3)):
    d = str(tmp_path / "run" / "checkpoints")
    mgr = ocp.CheckpointManager(d, options=ocp.CheckpointManagerOptions(create=True, enable_async_checkpointing=False))
    for s in steps:
        mgr.save(s, args=ocp.args.StandardSave({"w": np.full((64, 64), float(s), np.float32), "b": np.arange(s, s + 3)}))
    mgr.wait_until_finished()
    mgr.close()
    return d


def _restore(d):
    def restore(step):
        mgr = ocp.CheckpointManager(d)
        try:
            abstract = {"w": np.zeros((64, 64), np.float32), "b": np.zeros((3,), np.int64)}
            return mgr.restore(step, args=ocp.args.StandardRestore(abstract))
        finally:
            mgr.close()
    return restore


def _array_files(step_dir):
    """The OCDBT data files (`.../d/<hash>`) holding the arrays."""
    return [os.path.join(r, f) for r, _, fs in os.walk(step_dir) for f in fs if os.path.basename(r) == "d"]


@pytest.mark.parametrize("damage", ["truncate", "delete_array"])
def test_corrupt_latest_is_named_and_last_good_is_used(tmp_path, damage):
    d = _run(tmp_path)
    step_dir = os.path.join(d, "3")
    files = _array_files(step_dir)
    assert files, os.listdir(os.path.join(step_dir, "default"))
    for f in files:
        if damage == "truncate":
            with open(f, "r+b") as fh:
                fh.truncate(os.path.getsize(f) // 2)
        else:
            os.remove(f)
    logs = []
    with pytest.raises(recovery.CorruptCheckpointError) as e:
        recovery.restore_newest_readable([1, 2, 3], _restore(d), d, fall_back=False, log=logs.append)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and msg.startswith(f"checkpoint step 3 in {d} is unreadable (")
    assert recovery.RESUME_FLAG in msg and "Traceback" not in msg, msg
    want = {"truncate": "an array file is truncated or corrupt", "delete_array": "an array file is missing"}[damage]
    assert f"unreadable ({want})" in msg, msg
    assert os.path.isdir(step_dir)  # refusing changes nothing
    state, step = recovery.restore_newest_readable([1, 2, 3], _restore(d), d, fall_back=True, log=logs.append)
    assert step == 2 and float(state["w"][0, 0]) == 2.0 and state["b"].tolist() == [2, 3, 4]
    moved = os.path.join(os.path.dirname(d), recovery.CORRUPT_SUBDIR, "3")
    assert os.path.isdir(moved) and not os.path.exists(step_dir)
    assert any("checkpoint step 3 is unreadable" in m for m in logs) and any("resuming from step 2" in m for m in logs)


def test_nothing_readable(tmp_path):
    d = _run(tmp_path, steps=(5,))
    for f in _array_files(os.path.join(d, "5")):
        os.remove(f)
    with pytest.raises(recovery.CorruptCheckpointError, match="step 5 .*no older step"):
        recovery.restore_newest_readable([5], _restore(d), d, fall_back=False, log=print)
    with pytest.raises(recovery.CorruptCheckpointError, match="no readable checkpoint.*step 5: "):
        recovery.restore_newest_readable([5], _restore(d), d, fall_back=True, log=print)


def test_temp_folders_are_removed_with_a_line(tmp_path):
    d = _run(tmp_path, steps=(1,))
    tmp = os.path.join(d, "2.orbax-checkpoint-tmp-1234")
    os.makedirs(os.path.join(tmp, "default"))
    logs = []
    assert recovery.clean_temp_checkpoints(d, logs.append) == ["2.orbax-checkpoint-tmp-1234"]
    assert not os.path.exists(tmp) and os.path.isdir(os.path.join(d, "1"))
    assert len(logs) == 1 and tmp in logs[0] and "unfinished checkpoint save" in logs[0]
    assert recovery.clean_temp_checkpoints(str(tmp_path / "none"), logs.append) == []


def test_resume_mismatch_lists_every_field(tmp_path):
    saved = {"d_model": 64, "d_ff": 128, "num_heads": 4, "dropout_rate": 0.1}
    now = {"d_model": 64, "d_ff": 256, "num_heads": 8, "dropout_rate": 0.0}
    with pytest.raises(recovery.ResumeMismatchError) as e:
        recovery.check_resume("/m", saved, now, {"factored": True, "momentum_on": False},
                              {"factored": True, "momentum_on": True})
    msg = str(e.value)
    assert len(msg.splitlines()) == 1
    for part in ("model d_ff 128 (checkpoint) vs 256 (this run)", "model num_heads 4 (checkpoint) vs 8 (this run)",
                 "optimizer momentum_on False (checkpoint) vs True (this run)", "new MODEL_DIR"):
        assert part in msg, msg
    assert "dropout_rate" not in msg  # not part of the saved state: may change on resume
    recovery.check_resume("/m", saved, dict(saved, dropout_rate=0.3), None, {})


def test_state_differences_name_the_arrays():
    import collections

    State = collections.namedtuple("State", "count v")
    saved = {"params": {"w": np.zeros((4, 8))}, "opt_state": [{"count": np.zeros(()), "v": {"w": np.zeros((4, 8))}}]}
    run = {"params": {"w": np.zeros((4, 16))},
           "opt_state": (State(np.zeros(()), {"w": np.zeros((4, 16))}), {"mu": {"w": np.zeros((4, 16))}})}
    diffs = recovery.state_differences(saved, run)
    assert diffs == [
        "opt_state: 1 arrays only in this run (opt_state/1/mu/w)",
        "opt_state: 1 arrays with other shapes (opt_state/0/v/w (4, 8) (checkpoint) vs (4, 16) (this run))",
        "params: 1 arrays with other shapes (params/w (4, 8) (checkpoint) vs (4, 16) (this run))",
    ], diffs
    assert recovery.state_differences(saved, {"params": {"w": np.zeros((4, 8))},
                                              "opt_state": (State(np.zeros(()), {"w": np.zeros((4, 8))}),)}) == []
