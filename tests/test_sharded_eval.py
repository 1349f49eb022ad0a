"""Evaluation on a sharded mesh gives the unsharded results.

The checks run in subprocesses with simulated CPU devices (`XLA_FLAGS` must be set before
jax is imported): this file is also the worker, `python tests/test_sharded_eval.py MODE`.

  single     8 devices, one process: rank-classification scores (allclose) and greedy
             decodes (identical tokens) on 4x2 (fsdp_tp) and 8x1 (data_parallel) meshes
             against one device, batches not a multiple of the data axis; the parameters
             really sharded; `python -m flanjax.eval` with MESH_SHAPE/LOGICAL_RULES against
             MESH_SHAPE=None (the mesh run never reads the checkpoint whole to host); a
             mesh that does not fit the devices, and a checkpoint of other shapes than
             its config, are one clear error each.
  multihost  2 processes x 4 devices (gloo) on one 4x2 mesh: every process gets every
             score and token, equal to its own one-device reference.
"""

import contextlib
import json
import os
import shutil
import sys

from _train_helpers import HANG_GUARD_S, finish, free_port, spawn, subprocess_env

VOCAB = 64


def test_sharded_eval_matches_one_device(tmp_path):
    (out,) = finish([spawn(__file__, ["single", tmp_path], subprocess_env(8))], timeout=HANG_GUARD_S)
    assert "SHARDED_EVAL_OK" in out, out[-3000:]


def test_multihost_eval_every_process_gets_every_result():
    port = free_port()
    outs = finish([spawn(__file__, ["multihost", pid, 2, port], subprocess_env(4)) for pid in range(2)],
                  timeout=HANG_GUARD_S)
    for pid, out in enumerate(outs):
        assert f"MULTIHOST_EVAL_OK {pid}" in out, out[-3000:]


# -- the worker ---------------------------------------------------------------------------


class _CharVocabulary:
    """Characters <-> ids 3..VOCAB-1: options and decodes without SentencePiece."""

    vocab_size = VOCAB

    def encode(self, text):
        return [3 + ord(c) % (VOCAB - 3) for c in text]

    def decode(self, ids):
        return "".join(chr(0x41 + i) for i in ids)


def _model_and_examples():
    import jax
    import numpy as np

    from flanjax.model import T5Config, init_params

    config = T5Config.tiny(vocab_size=VOCAB, dtype="float32")
    params = jax.device_get(init_params(config, jax.random.key(0)))
    rng = np.random.default_rng(0)
    examples = []
    for i in range(11):  # 11 rows, batches of 6: neither a multiple of 4 nor of 8
        inputs = list(rng.integers(3, VOCAB, rng.integers(4, 40))) + [1]
        options = ["".join(chr(97 + int(c)) for c in rng.integers(0, 26, rng.integers(1, 9)))
                   for _ in range(2 + i % 3)]
        examples.append({"inputs": np.asarray(inputs, np.int32), "answer_options": options})
    return config, params, examples


def _evaluate(config, params, examples, mesh=None):
    from flanjax.evaluation import generation, ranking

    ranked = ranking.rank_classify(config, params, _CharVocabulary(), examples, batch_size=6, mesh=mesh)
    ids = generation.decode_ids(config, params, examples, batch_size=6, max_decode_length=7, mesh=mesh)
    return ranked, ids


def _assert_same(ranked, ids, ref_ranked, ref_ids):
    import numpy as np

    assert ranked.predictions == ref_ranked.predictions
    for got, want in zip(ranked.scores, ref_ranked.scores):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    for got, want in zip(ranked.mean_scores, ref_ranked.mean_scores):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(ids, ref_ids)


def _single(tmp):
    import jax
    import numpy as np
    from jax.sharding import PartitionSpec as P

    from flanjax.evaluation import batching
    from flanjax.model import score_options

    assert jax.device_count() == 8, jax.devices()
    config, params, examples = _model_and_examples()
    ref_ranked, ref_ids = _evaluate(config, params, examples)
    assert (ref_ids > 0).any()
    for shape, rules in (((4, 2), "fsdp_tp"), ((8, 1), "data_parallel")):
        mesh = batching.make_eval_mesh(shape, rules)
        placed = mesh.place_params(config, params)
        wi = placed["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"]  # (embed, mlp)
        assert len(wi.sharding.device_set) == 8
        if rules == "fsdp_tp":  # embed over data (4), mlp over model (2)
            assert wi.sharding.spec == P("data", "model")
            assert wi.addressable_shards[0].data.shape == (wi.shape[0] // 4, wi.shape[1] // 2)
        assert mesh.data_parallel_size == shape[0]
        assert batching.rows_per_batch(6, mesh.data_parallel_size) == 8
        ranked, ids = _evaluate(config, placed, examples, mesh=mesh)
        _assert_same(ranked, ids, ref_ranked, ref_ids)
        # The same inside the context (how `heldout.evaluate` runs), and the compiled call
        # splits the batch over `data`.
        with mesh.context():
            assert batching.active_data_parallel_size() == shape[0]
            ranked, ids = _evaluate(config, placed, examples)
            enc = np.ones((8, 16), np.int32)
            out = score_options(config, placed, enc, np.ones((8, 2, 4), np.int32))
            assert out["sum"].sharding.spec == P("data"), out["sum"].sharding
        _assert_same(ranked, ids, ref_ranked, ref_ids)
    try:
        batching.make_eval_mesh((3, 2))
        raise AssertionError("a 3x2 mesh on 8 devices must fail")
    except ValueError as e:
        assert "(3, 2)" in str(e) and "8 devices" in str(e), e
    _entry_point(tmp)
    print("SHARDED_EVAL_OK", flush=True)


def _entry_point(tmp):
    """`python -m flanjax.eval` on a 4x2 fsdp_tp mesh == MESH_SHAPE=None, via gin.

    On the mesh the checkpoint is restored straight into its shardings, never read whole
    to host; a checkpoint of other shapes than its config is one `error:` line.
    """
    import io

    import gin
    import jax

    from flanjax.cli import runner
    from flanjax.checkpoints import save_flanjax_checkpoint
    from flanjax.data.bundled import ensure_prepared
    from flanjax.model import T5Config, init_params

    ensure_prepared()
    config = T5Config.tiny(vocab_size=896, dtype="float32")
    ckpt = save_flanjax_checkpoint(config, jax.device_get(init_params(config, jax.random.key(1))),
                                   os.path.join(tmp, "ckpt"))
    common = [f"--gin.CHECKPOINT_PATH={ckpt}", "--gin.EVAL_ON='demo_reviews_zs:0,demo_addition_zs:0'",
              "--gin.MAX_EVAL_EXAMPLES=5", "--gin.BATCH_SIZE=3",
              "--gin.TASK_FEATURE_LENGTHS={'inputs': 128, 'targets': 8}"]
    results = {}
    mesh_flags = ["--gin_file=partitioning/fsdp_tp.gin", "--gin.MESH_SHAPE=(4, 2)"]
    for name, flags in (("one", ["--gin.MESH_SHAPE=None"]), ("4x2", mesh_flags)):
        gin.clear_config()
        out = os.path.join(tmp, name)
        with _no_host_load() if name == "4x2" else contextlib.nullcontext():
            assert runner.call("flanjax.cli.evaluate", ["--gin_file=runs/eval.gin", *flags, *common, f"--gin.OUTPUT_DIR={out}"]) == 0
        with open(os.path.join(out, "results.json")) as f:
            (results[name],) = json.load(f)["runs"].values()
    assert results["4x2"]["mesh"] == {"data": 4, "model": 2, "rules": "fsdp_tp"}
    for a, b in zip(results["one"]["tasks"], results["4x2"]["tasks"]):
        assert a["task"] == b["task"] and a["num_examples"] == b["num_examples"] == 5
        assert a["score"] == b["score"], (a["task"], a["score"], b["score"])
        assert [s["prediction"] for s in a["samples"]] == [s["prediction"] for s in b["samples"]]
    gin.clear_config()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = runner.call("flanjax.cli.evaluate", ["--gin_file=runs/eval.gin", "--gin.MESH_SHAPE=(3, 2)", *common,
                                f"--gin.OUTPUT_DIR={os.path.join(tmp, 'bad')}"])
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1 and "(3, 2)" in lines[0] and "8 devices" in lines[0], lines
    # A checkpoint whose config gives other shapes, restored sharded: one line, exit 2.
    bad = os.path.join(tmp, "bad_ckpt")
    shutil.copytree(ckpt, bad)
    with open(os.path.join(bad, "flanjax_config.json")) as f:
        values = json.load(f)
    with open(os.path.join(bad, "flanjax_config.json"), "w") as f:
        json.dump({**values, "d_ff": 2 * values["d_ff"]}, f)
    gin.clear_config()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = runner.call("flanjax.cli.evaluate", ["--gin_file=runs/eval.gin", *mesh_flags, *common, f"--gin.CHECKPOINT_PATH={bad}",
                                f"--gin.OUTPUT_DIR={os.path.join(tmp, 'bad')}"])
    lines = err.getvalue().strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: Parameter ") and "but the config expects" in lines[0], lines


@contextlib.contextmanager
def _no_host_load():
    """Fails the run if a converted checkpoint is read whole to host (the unsharded reader)."""
    from flanjax import checkpoints as convert_ckpt

    def refuse(path):
        raise AssertionError(f"{path} read to host although evaluation runs on a mesh")

    saved = convert_ckpt.load_flanjax_checkpoint
    convert_ckpt.load_flanjax_checkpoint = refuse
    try:
        yield
    finally:
        convert_ckpt.load_flanjax_checkpoint = saved


def _multihost(pid, nproc, port):
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)
    from flanjax.evaluation import batching

    assert jax.process_count() == nproc and jax.device_count() == 8 and jax.local_device_count() == 4
    config, params, examples = _model_and_examples()
    # One-device reference on this process's first device (a local computation).
    with jax.default_device(jax.local_devices()[0]):
        ref_ranked, ref_ids = _evaluate(config, params, examples)
    mesh = batching.make_eval_mesh((4, 2), "fsdp_tp")  # rows over both processes' devices
    placed = mesh.place_params(config, params)
    assert not placed["encoder"]["layers_0"]["mlp"]["wi_0"]["kernel"].is_fully_addressable
    ranked, ids = _evaluate(config, placed, examples, mesh=mesh)
    _assert_same(ranked, ids, ref_ranked, ref_ids)
    print(f"MULTIHOST_EVAL_OK {pid}", flush=True)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "single":
        _single(sys.argv[2])
    elif mode == "multihost":
        _multihost(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    sys.stdout.flush()
    from flanjax.cli import runner

    runner.leave_distributed()  # no process exits while another still polls the coordinator
    os._exit(0)  # tf.data iterators can hang interpreter shutdown
