"""Fault injection outside a healthy training run: conversion, data, outputs, ranges.

Each case is something a newcomer hits (issue 23): it must end with one `error:` line and the
documented exit status, before the work it would spoil; or, for conversions, carry what
the next command needs. Commands run in-process through `runner.call` (no interpreter start).
The gs:// vocabulary is never fetched: `_offline` makes every gs:// read fail as it does on
a machine without network or credentials.
"""

import json
import os
import shutil

import gin
import jax
import pytest

from flanjax.cli import runner

EXIT_USAGE = 2
TEXT = "Is the ball in the attic?"


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    import seqio
    import tensorflow as tf

    real = seqio.vocabularies._load_model

    def load(path, *args, **kwargs):
        if str(path).startswith("gs://"):
            raise tf.errors.FailedPreconditionError(
                None, None, "Error executing an HTTP request: libcurl code 6 meaning 'Could not resolve "
                f"hostname', error details: Could not resolve host: www.googleapis.com\n\t when reading {path}")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(seqio.vocabularies, "_load_model", load)
    gin.clear_config()
    yield
    gin.clear_config()


def _call(capsys, module, argv):
    gin.clear_config()
    code = runner.call(module, argv)
    out = capsys.readouterr()
    return code, out.out, out.err.strip().splitlines()


def _one_line(err):
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    return err[0]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A tiny converted checkpoint on the bundled vocabulary (896 embedding rows), no tokenizer."""
    from flanjax.checkpoints import save_flanjax_checkpoint
    from flanjax.data.bundled import ensure_prepared
    from flanjax.model import T5Config, init_params

    ensure_prepared()
    config = T5Config.tiny(vocab_size=896, dtype="float32", num_encoder_layers=1, num_decoder_layers=1)
    params = jax.device_get(init_params(config, jax.random.key(0)))
    return save_flanjax_checkpoint(config, params, str(tmp_path_factory.mktemp("conv") / "ckpt"))


def _infer(capsys, checkpoint, inputs, output, *extra):
    return _call(capsys, "flanjax.cli.infer", [
        "--gin_file=runs/infer.gin", f"--gin.CHECKPOINT_PATH={checkpoint}", f"--gin.INFER_INPUTS={inputs}",
        f"--gin.OUTPUT_FILE={output}", "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 4}", *extra])


# ------------------------------------------------------------- 1: the vocabulary travels
def test_convert_carries_the_tokenizer_both_ways(tmp_path, capsys, monkeypatch):
    """--from_hf of a directory with spiece.model records it; infer on the result uses it
    (not T5's gs:// default); --to_hf exports it again; transformers' tokenizer of the
    source and of the export give the ids flanjax's recorded vocabulary gives."""
    monkeypatch.setenv("FLANJAX_VOCAB", "t5")  # a user's default (the suite's is 'bundled')
    import torch
    import transformers

    from flanjax.data import vocab_files
    from flanjax.data.vocab import BUNDLED_SPM_PATH

    hf = tmp_path / "hf"
    torch.manual_seed(0)
    model = transformers.T5ForConditionalGeneration(transformers.T5Config(
        vocab_size=896, d_model=32, d_kv=8, d_ff=48, num_layers=1, num_heads=2, dropout_rate=0.0,
        feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0))
    model.save_pretrained(str(hf))
    shutil.copyfile(BUNDLED_SPM_PATH, hf / "spiece.model")  # as published T5 directories hold it
    (hf / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "T5Tokenizer", "extra_ids": 0}))
    reference = transformers.AutoTokenizer.from_pretrained(str(hf))(TEXT).input_ids

    out = tmp_path / "converted"
    code, _, err = _call(capsys, "flanjax.cli.convert", ["--from_hf", str(hf), "--out", str(out)])
    assert code == 0, err
    recorded = vocab_files.recorded_vocabulary(str(out))
    assert recorded is not None and recorded.extra_ids == 0
    assert recorded.encode(TEXT) + [1] == reference

    inputs = tmp_path / "in.txt"
    inputs.write_text(TEXT + "\n")
    code, _, err = _infer(capsys, out, inputs, tmp_path / "pred.jsonl")
    assert code == 0, err
    assert json.loads((tmp_path / "pred.jsonl").read_text())["inputs"] == TEXT

    exported = tmp_path / "exported"
    code, _, err = _call(capsys, "flanjax.cli.convert", ["--to_hf", str(out), "--out", str(exported)])
    assert code == 0, err
    assert (exported / "spiece.model").read_bytes() == (hf / "spiece.model").read_bytes()
    assert transformers.AutoTokenizer.from_pretrained(str(exported))(TEXT).input_ids == reference


# ------------------------------------------------------------- 2: errors reading data
def test_unreachable_default_vocabulary_is_one_line(converted, tmp_path, capsys, monkeypatch):
    """No recorded vocabulary, no VOCAB: T5's gs:// model, unreachable here."""
    monkeypatch.setenv("FLANJAX_VOCAB", "t5")  # a user's default (the suite's is 'bundled')
    inputs = tmp_path / "in.txt"
    inputs.write_text(TEXT + "\n")
    code, _, err = _infer(capsys, converted, inputs, tmp_path / "pred.jsonl")
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert "gs://t5-data/vocabs/cc_all.32000/sentencepiece.model" in line and "Could not resolve host" in line
    assert "FLANJAX_VOCAB" in line and "'bundled'" in line


# A Super-NaturalInstructions task file shaped like allenai/natural-instructions' tasks/*.json.
SNI_TASK = {"Definition": ["Repeat the word."], "Positive Examples": [{"input": "a", "output": "a"}],
            "Negative Examples": [], "Categories": ["Text Copying"],
            "Instances": [{"id": "task001-0", "input": "apple", "output": ["apple"]}]}


def test_truncated_sni_task_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch):
    """Read inside tf.data (seqio's generator): one line, exit 2, not a wrapped traceback."""
    path = tmp_path / "task001_copy.json"
    path.write_text(json.dumps(SNI_TASK)[:60])  # cut mid-file, as an interrupted download
    monkeypatch.setenv("FLANJAX_SNI_DIR", str(tmp_path))
    code, _, err = _call(capsys, "flanjax.cli.inspect_data",
                         ["niv2_zs", "--num_examples", "1", "--lengths", "inputs=64,targets=8"])
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert line.startswith(f"error: {path}: not valid JSON (") and "line 1 column" in line, line


def test_sni_task_without_instances_stops_training_in_one_line(tmp_path, capsys, monkeypatch):
    """Through the train command: one line naming the file and key; the lease is released."""
    (tmp_path / "sni").mkdir()
    path = tmp_path / "sni" / "task002_no_instances.json"
    path.write_text(json.dumps({k: v for k, v in SNI_TASK.items() if k != "Instances"}))
    monkeypatch.setenv("FLANJAX_SNI_DIR", str(tmp_path / "sni"))
    model_dir = tmp_path / "run"
    code, _, err = _call(capsys, "flanjax.cli.train", [
        "--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=2",
        "--gin.MIXTURE_OR_TASK_NAME='niv2_zs'", "--gin.BATCH_SIZE=2",
        "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}"])
    assert code == EXIT_USAGE
    assert _one_line(err) == f"error: {path}: required key 'Instances' is missing."
    assert not (model_dir / "run.lease").exists()


def test_template_the_sandbox_refuses_is_one_line(tmp_path, capsys):
    """A promptsource template reaching for Python internals renders inside tf.data: one
    line naming the template and its file (it was 111 lines through inspect)."""
    import dataclasses

    import flanjax.data.mixtures  # noqa: F401  (registers the catalog)
    from flanjax.data import tasks as tasks_lib
    from flanjax.data.bundled import ensure_prepared
    from flanjax.data.catalog import registry
    from flanjax.data.templates import load_promptsource_yaml

    ensure_prepared()
    path = tmp_path / "templates.yaml"
    # promptsource's templates.yaml layout (`!Template` entries under `templates:`).
    path.write_text("dataset: reviews\ntemplates:\n  a1: !Template\n    id: a1\n"
                    "    jinja: '{{ text.__class__.__mro__ }} ||| {{ answer }}'\n"
                    "    metadata: !TemplateMetadata\n      original_task: true\n"
                    "    name: peek inside\n    reference: ''\n")
    name = "demo_reviews_sandboxed"
    if name not in [e.name for e in registry.all_entries()]:
        entry = dataclasses.replace(registry.get_entry("demo_reviews"), name=name,
                                    templates=tuple(load_promptsource_yaml(str(path))))
        tasks_lib.register_entry_tasks(registry.register_entry(entry))
    code, _, err = _call(capsys, "flanjax.cli.inspect_data",
                         [f"{name}_zs", "--num_examples", "1", "--lengths", "inputs=64,targets=8"])
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert line.startswith(f"error: promptsource template 'peek inside' (from {path}): rendering "
                           "refused by Jinja's sandbox (access to attribute '__class__'"), line


# ------------------------------------------------------------- 3: outputs before the work
def test_eval_output_dir_that_is_a_file_is_refused_before_scoring(converted, tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    code, out, err = _call(capsys, "flanjax.cli.evaluate", [
        "--gin_file=runs/eval.gin", f"--gin.CHECKPOINT_PATH={converted}", "--gin.EVAL_ON=demo_reviews",
        f"--gin.OUTPUT_DIR={blocker}/eval", "--gin.MAX_EVAL_EXAMPLES=1",
        "--gin.TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 4}"])
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert f"OUTPUT_DIR {blocker}/eval lies below {blocker}, which is a file" in line
    assert "[eval] 1/" not in out  # no task was scored


def test_infer_output_file_that_is_a_directory_is_refused(converted, tmp_path, capsys):
    inputs = tmp_path / "in.txt"
    inputs.write_text(TEXT + "\n")
    code, out, err = _infer(capsys, converted, inputs, tmp_path, "--gin.VOCAB='bundled'")
    assert code == EXIT_USAGE
    assert f"OUTPUT_FILE {tmp_path} is a directory" in _one_line(err)


def test_infer_writes_predictions_as_they_come(converted, tmp_path, monkeypatch):
    """Decoding fails on the second batch: the first batch's line is already in the file."""
    from flanjax.evaluation import generation, predict

    real, calls = generation.decode, []

    def decode(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "decode", decode)
    inputs = tmp_path / "in.txt"
    inputs.write_text("first input\nsecond input\n")
    out = tmp_path / "pred.jsonl"
    with pytest.raises(RuntimeError, match="stopped"):
        predict.infer(checkpoint_path=converted, inputs=str(inputs), output_file=str(out),
                      vocabulary="bundled", batch_size=1, task_feature_lengths={"inputs": 32, "targets": 4})
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["inputs"] for r in rows] == ["first input"]


def test_contamination_out_is_checked_before_reading(tmp_path, capsys):
    code, out, err = _call(capsys, "flanjax.cli.contamination", [
        "--train", "demo_minus_nli", "--eval", "nli", "--collection", "demo", "--out", str(tmp_path)])
    assert code == EXIT_USAGE
    assert f"--out {tmp_path} is a directory" in _one_line(err)
    assert "overlap" not in out


# ------------------------------------------------------------- 7: ranges
def test_dropout_rate_outside_zero_one_is_refused(tmp_path, capsys):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    code, _, err = _call(capsys, "flanjax.cli.train", [
        "--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={tmp_path}/run", "--gin.TRAIN_STEPS=2",
        "--gin.DROPOUT_RATE=1.5"])
    assert code == EXIT_USAGE
    assert "dropout_rate must be a number in [0, 1), got 1.5" in _one_line(err)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_heldout_zero_steps_is_refused(tmp_path, capsys):
    code, _, err = _call(capsys, "flanjax.cli.heldout", [
        "--mixture", "demo", "--clusters", "nli", "--steps", "0", "--out", str(tmp_path), "--dry_run"])
    assert code == EXIT_USAGE
    assert "--steps must be a positive integer, got 0" in _one_line(err)


def test_contamination_zero_gram_is_refused(capsys):
    code, out, err = _call(capsys, "flanjax.cli.contamination", [
        "--train", "demo_minus_nli", "--eval", "nli", "--collection", "demo", "--n", "0"])
    assert code == EXIT_USAGE
    assert "--n must be a positive number of words, got 0" in _one_line(err)


def test_infer_null_input_is_refused(converted, tmp_path, capsys):
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"inputs": "fine"}\n{"inputs": null}\n')
    code, _, err = _infer(capsys, converted, inputs, tmp_path / "pred.jsonl", "--gin.VOCAB='bundled'")
    assert code == EXIT_USAGE
    assert f'INFER_INPUTS {inputs}:2: "inputs" must be a string, got null' in _one_line(err)


# ------------------------------------------------------------- 5: corrupt checkpoints
@pytest.fixture
def run_with_bad_latest(tmp_path):
    """A MODEL_DIR with steps 2 and 4 (a TrainState-like tree, as the trainer saves), built
    without training; returns (model_dir, step 4's folder)."""
    from flanjax import checkpoints
    from flanjax.data.bundled import ensure_prepared
    from flanjax.model import T5Config, init_params

    ensure_prepared()
    config = T5Config.tiny(vocab_size=896, dtype="float32", num_encoder_layers=1, num_decoder_layers=1)
    params = jax.device_get(init_params(config, jax.random.key(0)))
    model_dir = str(tmp_path / "run")
    saver = checkpoints.Checkpointer(model_dir, period=1, async_save=False)
    for step in (2, 4):
        saver.save(step, {"params": params, "step": step}, force=True)
    saver.close()
    checkpoints.write_model_config(model_dir, config)
    return model_dir, os.path.join(model_dir, "checkpoints", "4")


def test_eval_of_a_truncated_step_names_the_readable_one(run_with_bad_latest, tmp_path, capsys):
    model_dir, step_dir = run_with_bad_latest
    for root, _, files in os.walk(step_dir):
        if os.path.basename(root) == "d":
            for name in files:
                with open(os.path.join(root, name), "r+b") as f:
                    f.truncate(1)
    code, _, err = _call(capsys, "flanjax.cli.evaluate", [
        "--gin_file=runs/eval.gin", f"--gin.CHECKPOINT_PATH={model_dir}", "--gin.EVAL_ON=demo_reviews_zs:0",
        f"--gin.OUTPUT_DIR={tmp_path}/eval", "--gin.MAX_EVAL_EXAMPLES=1"])
    assert code == EXIT_USAGE
    line = _one_line(err)
    # The sharded reader reads the array metadata first, which truncated files spoil.
    assert f"checkpoint step 4 in {model_dir}/checkpoints is unreadable (its array metadata is missing or " \
           "unreadable (a file missing or truncated))" in line, line
    assert "the newest readable step is 2 (saved steps: [2, 4])" in line and "CHECKPOINT_STEP=2" in line


def test_convert_of_an_emptied_step_names_the_readable_one(run_with_bad_latest, tmp_path, capsys):
    model_dir, step_dir = run_with_bad_latest
    for root, _, files in os.walk(step_dir):
        for name in files:
            os.remove(os.path.join(root, name))
    code, _, err = _call(capsys, "flanjax.cli.convert", ["--to_hf", model_dir, "--out", str(tmp_path / "hf")])
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert f"checkpoint step 4 in {model_dir}/checkpoints is unreadable (its folder holds no checkpoint files" in line
    assert "tensorstore" not in line.lower() and len(line) < 200 + 2 * len(model_dir), line
    assert "the newest readable step is 2" in line and "--step 2" in line


# ------------------------------------------------------------- 6: a full disk during a save
def test_a_full_disk_stops_at_the_failed_save_with_exit_74(tmp_path, capsys, caplog, monkeypatch):
    """orbax's background writer meets ENOSPC saving step 4: the run stops by the next save
    (step 6) at the latest, with one line and exit 74; step 2 stays readable; the lease goes."""
    import errno
    import logging

    from orbax.checkpoint._src.path import async_path

    from flanjax import checkpoints
    from flanjax.cli import quiet
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    model_dir = str(tmp_path / "run")
    real = async_path.write_text

    async def write_text(path, text):  # the disk fills up while step 4 is written
        if f"{model_dir}/checkpoints/4" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return await real(path, text)

    monkeypatch.setattr(async_path, "write_text", write_text)
    caplog.set_level(logging.ERROR)
    code, _, err = _call(capsys, "flanjax.cli.train", [
        "--gin_file=runs/demo.gin", "--gin.BATCH_SIZE=4", "--gin.TASK_FEATURE_LENGTHS={'inputs': 32, 'targets': 8}",
        "--gin.EVAL_PERIOD=0", "--gin.CHECKPOINT_PERIOD=2", "--gin.train.log_period=1",
        "--gin.make_config.num_encoder_layers=1", "--gin.make_config.num_decoder_layers=1",
        f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=8"])
    assert code == 74, err
    line = _one_line(err)
    assert "saving checkpoint step 4 failed: No space left on device" in line, line
    assert f"the last good checkpoint is step 2 in {model_dir}/checkpoints, intact" in line, line
    steps = [json.loads(l)["step"] for l in open(os.path.join(model_dir, "train_metrics.jsonl"))]
    assert 4 <= steps[-1] <= 6, steps  # stopped at the failed save, not after all 8 steps
    assert checkpoints.saved_steps(model_dir) == [2]
    checkpoints.load_model(model_dir, step=2)  # readable
    assert not os.path.exists(os.path.join(model_dir, "run.lease"))
    # orbax's background threads log the failure with tracebacks; the commands drop those.
    reports = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], OSError)]
    assert reports and not any(quiet._DropSpurious().filter(r) for r in reports)


# ------------------------------------------------------------- 2 and 4: absurd sizes
def test_a_batch_beyond_host_memory_is_refused_with_the_figure():
    """The issue's BATCH_SIZE=1000000000 at lengths 32/8 on a 16 GiB host: 136 int32 a row
    (3 x 32 encoder + 5 x 8 decoder features) = 544 bytes, x 1e9 = 506.6 GiB."""
    from flanjax.train import input_pipeline

    with pytest.raises(ValueError) as e:
        input_pipeline.check_host_batch_memory(10**9, {"inputs": 32, "targets": 8}, memory=16 * 2**30)
    assert "takes 506.6 GiB of int32 features (544 bytes a row), more than 50% of this host's 16.0 GiB" in str(e.value)
    assert input_pipeline.check_host_batch_memory(8, {"inputs": 32, "targets": 8}, memory=16 * 2**30) == 8 * 544


def test_huge_feature_lengths_are_refused_before_tf_allocates(tmp_path, capsys):
    from flanjax.data.bundled import ensure_prepared

    ensure_prepared()
    code, out, err = _call(capsys, "flanjax.cli.train", [
        "--gin_file=runs/demo.gin", f"--gin.MODEL_DIR={tmp_path}/run", "--gin.TRAIN_STEPS=2", "--gin.BATCH_SIZE=4",
        "--gin.TASK_FEATURE_LENGTHS={'inputs': 1099511627776, 'targets': 8}"])
    assert code == EXIT_USAGE
    line = _one_line(err)
    assert "TASK_FEATURE_LENGTHS {'inputs': 1099511627776, 'targets': 8} takes 49,152.0 GiB" in line, line
    assert not os.path.exists(tmp_path / "run" / "run.lease")
