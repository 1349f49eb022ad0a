"""Fault injection against `python -m flanjax.train` / `flanjax.convert` on a tiny demo run.

One small run is trained once (module fixture); every bad command after it must refuse with
one line naming the problem, exit with its documented status, and leave every checkpoint,
config and metric line of the run byte-for-byte as it was. Refusals run in-process (no
interpreter start); the runs that must really train (SIGINT, resume from the last good
step) run as child processes.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import gin
import pytest

from _train_helpers import HANG_GUARD_S, REPO

TINY = [
    "--gin_file=runs/demo.gin",
    "--gin.BATCH_SIZE=4",
    "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}",
    "--gin.EVAL_PERIOD=0",
    "--gin.CHECKPOINT_PERIOD=2",
    "--gin.train.log_period=1",
    "--gin.make_config.num_encoder_layers=1",
    "--gin.make_config.num_decoder_layers=1",
]
EXIT_CONFIG, EXIT_INTERRUPTED = 2, 75


def _train_main():
    from flanjax.cli import runner

    return lambda argv: runner.call("flanjax.cli.train", argv)


def _snapshot(model_dir):
    """{relative path: sha1} of every file under MODEL_DIR except the TensorBoard events."""
    out = {}
    for root, _, files in os.walk(model_dir):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, model_dir)
            if rel.startswith("tensorboard"):
                continue
            with open(path, "rb") as f:
                out[rel] = hashlib.sha1(f.read()).hexdigest()
    return out


def _env():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("XLA_FLAGS", None)
    return env


def _run(args, timeout=HANG_GUARD_S):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-step run with checkpoints at 2 and 4; returns (model_dir, snapshot)."""
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    model_dir = str(tmp_path_factory.mktemp("faults") / "run")
    proc = _run(["flanjax.train", *TINY, f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=4"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(os.listdir(os.path.join(model_dir, "checkpoints"))) == ["2", "4"]
    assert not os.path.exists(os.path.join(model_dir, "run.lease"))  # released at the end
    return model_dir, _snapshot(model_dir)


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _refused(capsys, argv, code=EXIT_CONFIG):
    assert _train_main()(argv) == code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("extra, fragments", [
    (["--gin.TRAIN_STESP=20"], ["unknown gin macro TRAIN_STESP", "did you mean TRAIN_STEPS?"]),
    (["--gin.TRAIN_STEPS=20.5"], ["TRAIN_STEPS must be a positive integer, got 20.5"]),
    (["--gin.TRAIN_STEPS='abc'"], ["TRAIN_STEPS must be a positive integer, got 'abc'"]),
    (["--gin.BATCH_SIZE=16.5"], ["BATCH_SIZE must be a positive integer, got 16.5"]),
    (["--gin.TASK_FEATURE_LENGTHS=128"], ["TASK_FEATURE_LENGTHS must be a dict"]),
    (["--gin.TASK_FEATURE_LENGTHS={'inputs': 32}"], ["TASK_FEATURE_LENGTHS", "missing ['targets']"]),
    (["--gin.CHECKPOINT_PERIOD=0"], ["CHECKPOINT_PERIOD must be a positive integer, got 0"]),
    (["--gin.MIXTURE_OR_TASK_NAME='demoo'"], ["demoo"]),
    (["--gin.make_config.d_ff=256"], ["d_ff 128 (checkpoint) vs 256 (this run)"]),
    (["--gin.make_config.num_heads=2", "--gin.make_config.d_ff=64"], ["num_heads", "d_ff"]),
    (["--gin.TRAIN_STEPS=2"], ["TRAIN_STEPS=2", "step 4"]),
])
def test_bad_input_is_refused_and_the_run_is_untouched(trained, capsys, extra, fragments):
    model_dir, before = trained
    err = _refused(capsys, [*TINY, f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=6", *extra])
    for fragment in fragments:
        assert fragment in err, err
    assert _snapshot(model_dir) == before


def test_a_live_run_holds_the_model_dir(trained, capsys):
    model_dir, before = trained
    lease = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
             "refreshed": time.time(), "token": "other-run", "command": "flanjax.train"}
    path = os.path.join(model_dir, "run.lease")
    with open(path, "w") as f:
        json.dump(lease, f)
    try:
        err = _refused(capsys, [*TINY, f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=6"])
        assert f"in use by pid {os.getpid()} on host {socket.gethostname()}" in err, err
    finally:
        os.remove(path)
    assert _snapshot(model_dir) == before


def test_model_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    err = _refused(capsys, [*TINY, f"--gin.MODEL_DIR={f}", "--gin.TRAIN_STEPS=2"])
    assert "is a file, not a directory" in err and f.read_text() == "x"


def test_convert_refuses_a_training_run(trained, tmp_path):
    model_dir, before = trained
    from _hf_t5 import make_hf_model, save

    hf = save(make_hf_model("v1_1_gated_untied", seed=0), str(tmp_path / "hf"))
    proc = _run(["flanjax.convert", "--from_hf", hf, "--out", model_dir])
    assert proc.returncode == EXIT_CONFIG, proc.stdout + proc.stderr
    assert "not empty" in proc.stderr and model_dir in proc.stderr, proc.stderr
    assert _snapshot(model_dir) == before


def test_sigint_saves_and_exits_75_then_corrupt_latest_falls_back(trained, tmp_path):
    """Ctrl-C saves and exits 75; a truncated latest step is named, then skipped on request;
    a leftover temp folder is removed with a line; replayed steps are not logged twice."""
    src, _ = trained
    model_dir = str(tmp_path / "copy")
    shutil.copytree(src, model_dir)
    proc = subprocess.Popen([sys.executable, "-m", "flanjax.train", *TINY, f"--gin.MODEL_DIR={model_dir}",
                             "--gin.TRAIN_STEPS=400", "--gin.CHECKPOINT_PERIOD=100"],
                            cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("step 6/"):
            proc.send_signal(signal.SIGINT)
            break
    out = "".join(lines) + proc.communicate(timeout=HANG_GUARD_S)[0]
    assert proc.returncode == EXIT_INTERRUPTED, out[-3000:]
    assert "SIGINT" in out and "Traceback" not in out, out[-3000:]
    saved = sorted(int(s) for s in os.listdir(os.path.join(model_dir, "checkpoints")) if s.isdigit())
    latest = saved[-1]
    assert latest > 4, saved

    # Damage the latest step; leave an unfinished save beside it.
    step_dir = os.path.join(model_dir, "checkpoints", str(latest))
    for root, _, files in os.walk(step_dir):
        if os.path.basename(root) == "d":
            for name in files:
                with open(os.path.join(root, name), "r+b") as f:
                    f.truncate(1)
    os.makedirs(os.path.join(model_dir, "checkpoints", f"{latest + 1}.orbax-checkpoint-tmp-99"))
    before = _snapshot(model_dir)
    cmd = ["flanjax.train", *TINY, f"--gin.MODEL_DIR={model_dir}", f"--gin.TRAIN_STEPS={latest + 2}"]
    refused = _run(cmd)
    assert refused.returncode == EXIT_CONFIG, refused.stdout[-2000:] + refused.stderr[-2000:]
    err = refused.stderr.strip().splitlines()[-1]
    assert f"checkpoint step {latest}" in err and "RESUME_FROM_LAST_GOOD=True" in err, refused.stderr[-2000:]
    # orbax's abandoned reads of the other array files must not bury that line in tracebacks.
    assert "Traceback" not in refused.stderr, refused.stderr[-2000:]
    assert _snapshot(model_dir) == before

    resumed = _run([*cmd, "--gin.RESUME_FROM_LAST_GOOD=True"])
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resuming from step 4" in resumed.stdout
    assert "unfinished checkpoint save" in resumed.stdout
    assert os.path.isdir(os.path.join(model_dir, "corrupt_checkpoints", str(latest)))
    steps = [json.loads(l)["step"] for l in open(os.path.join(model_dir, "train_metrics.jsonl"))]
    assert len(steps) == len(set(steps)), steps  # the replayed steps 5.. are not there twice
    assert steps == sorted(steps) and steps[-1] == latest + 2, steps


def test_sigint_while_the_first_batch_blocks_stops_at_once(tmp_path):
    """Ctrl-C while the main thread waits inside tf.data for the first batch (a generator
    that never yields, `_blocked_first_batch.py`): exit 130 at once, the start-up phase named,
    the run lease released, nothing saved (issue 23, item 4)."""
    from _blocked_first_batch import BLOCKED_LINE
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    model_dir = tmp_path / "run"
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([REPO, os.path.join(REPO, "tests"), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "tests", "_blocked_first_batch.py"), *TINY,
                             f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=4"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    guard = threading.Timer(600, proc.kill)  # a hang guard only: the run stops at once
    guard.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(BLOCKED_LINE):
                assert (model_dir / "run.lease").exists()  # held while starting
                proc.send_signal(signal.SIGINT)
                break
        out = "".join(lines) + proc.communicate()[0]
    finally:
        guard.cancel()
        proc.kill()
    assert proc.returncode == 130, out[-3000:]
    phases = [l for l in out.splitlines() if l.startswith("[train] start-up: ")]
    assert phases[:2] == ["[train] start-up: building the input pipeline of demo",
                          "[train] start-up: initialising the model"], out[-3000:]
    assert phases[-1] == "[train] start-up: reading the first batch", out[-3000:]
    assert out.strip().splitlines()[-1] == (
        "error: SIGINT during start-up (reading the first batch): stopped before the first step, "
        "nothing was saved; rerun the same command to start again"), out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert not (model_dir / "run.lease").exists()
    assert not (model_dir / "checkpoints").exists() or not os.listdir(model_dir / "checkpoints")


def test_sigterm_during_a_blocking_start_up_call_raises_143():
    """`Startup.wait` runs the call in a worker while the main thread waits where the SIGTERM
    handler runs: StartupInterrupted (exit 143) at once, the previous handlers back after."""
    from flanjax.train import interrupt

    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    said, ran_in, release = [], [], threading.Event()

    def blocked():
        ran_in.append(threading.current_thread())  # not the main thread, where handlers run
        os.kill(os.getpid(), signal.SIGTERM)
        release.wait(600)  # released below; a hang guard only

    startup = interrupt.Startup(log=said.append)
    try:
        startup.say("compiling the train step")
        with pytest.raises(interrupt.StartupInterrupted) as e:
            startup.wait(blocked)
    finally:
        release.set()
        startup.close()
    assert ran_in and ran_in[0] is not threading.main_thread()
    assert e.value.exit_status == 143 and e.value.signal_name == "SIGTERM"
    assert str(e.value).startswith("SIGTERM during start-up (compiling the train step): stopped")
    assert said == ["[train] start-up: compiling the train step"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == previous
    assert startup.wait(lambda x: x + 1, 1) == 2  # closed: a direct call


def test_export_a_run_to_hf_with_its_tokenizer(trained, tmp_path):
    """--to_hf RUN_DIR --step N: transformers loads model and tokenizer; logits equal ours."""
    import numpy as np
    import torch
    import transformers

    from flanjax import checkpoints
    from flanjax.data.vocab import get_vocabulary
    from flanjax.model import T5

    model_dir, before = trained
    assert os.path.exists(os.path.join(model_dir, "spiece.model"))  # the run recorded it
    out = str(tmp_path / "hf")
    proc = _run(["flanjax.convert", "--to_hf", model_dir, "--step", "2", "--out", out])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert _snapshot(model_dir) == before
    tok = transformers.AutoTokenizer.from_pretrained(out)
    hf = transformers.T5ForConditionalGeneration.from_pretrained(out).eval()
    text = "Is the ball in the attic?"
    ids = tok(text).input_ids
    assert ids == get_vocabulary("bundled").encode(text) + [1]
    config, params = checkpoints.load_model(model_dir, step=2, dtype="float32")
    dec = [0, 5, 6, 7]
    with torch.no_grad():
        ref = hf(input_ids=torch.tensor([ids]), decoder_input_ids=torch.tensor([dec])).logits.numpy()
    ours = np.asarray(T5(config).apply({"params": params}, np.array([ids]), np.array([dec])))
    np.testing.assert_allclose(ours[..., : ref.shape[-1]], ref, rtol=1e-4, atol=1e-4)
    step4 = checkpoints.load_model(model_dir, step=4, dtype="float32")[1]
    assert not np.allclose(np.asarray(step4["token_embedder"]["embedding"]),
                           np.asarray(params["token_embedder"]["embedding"]))  # --step picked step 2


def test_convert_to_hf_step_best_exports_the_kept_best_step(trained, tmp_path):
    """README: `best` works as a step wherever a step is given; KEEP_BEST's file names 2."""
    import numpy as np
    from safetensors.numpy import load_file

    from flanjax import checkpoints
    from flanjax.cli import runner

    src, _ = trained
    run = str(tmp_path / "run")
    shutil.copytree(src, run)
    with open(os.path.join(run, checkpoints.BEST_FILE), "w") as f:
        json.dump({"step": 2, "metric": "overall", "value": 50.0}, f)
    out = str(tmp_path / "hf")
    assert runner.call("flanjax.cli.convert", ["--to_hf", run, "--step", "best", "--out", out]) == 0
    exported = load_file(os.path.join(out, "model.safetensors"))["shared.weight"]
    step2 = np.asarray(checkpoints.load_model(run, step=2, dtype="float32")[1]["token_embedder"]["embedding"])
    np.testing.assert_array_equal(exported, step2[: exported.shape[0]])


def test_eval_into_a_training_run_writes_inference_eval_and_keeps_earlier_reports(trained, tmp_path, capsys):
    """OUTPUT_DIR = the run's MODEL_DIR: the report goes to MODEL_DIR/inference_eval (T5X's
    folder), the run's files untouched; a second eval keeps the first report in previous/."""
    from flanjax.cli import runner

    src, _ = trained
    run = str(tmp_path / "run")
    shutil.copytree(src, run)
    before = _snapshot(run)
    argv = ["--gin_file=runs/eval.gin", f"--gin.CHECKPOINT_PATH='{run}'", f"--gin.OUTPUT_DIR='{run}'",
            "--gin.EVAL_ON='demo_entailment_zs:0'", "--gin.MAX_EVAL_EXAMPLES=2",
            "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}"]
    for _ in range(2):
        assert runner.call("flanjax.cli.evaluate", argv) == 0
    out = capsys.readouterr().out
    report = os.path.join(run, "inference_eval")
    assert f"the report goes to {report}" in out, out
    after = _snapshot(run)
    assert {k: v for k, v in after.items() if not k.startswith("inference_eval")} == before
    assert os.path.exists(os.path.join(report, "results.json"))
    (kept,) = os.listdir(os.path.join(report, "previous"))
    assert sorted(os.listdir(os.path.join(report, "previous", kept))) == [
        "datasets.png", "results.json", "results.md", "tensorboard"]
    assert f"the earlier report in {report} is kept in {os.path.join(report, 'previous', kept)}" in out
