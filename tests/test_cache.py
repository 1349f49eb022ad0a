"""Offline task caches (seqio's Beam job, DirectRunner) against the uncached tasks."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import seqio
import tensorflow as tf

pytest.importorskip("apache_beam", reason="the [cache] extra (apache-beam) is not installed")

from flanjax.data import cache, mixtures, tasks  # noqa: E402,F401  (mixtures registers)
from flanjax.data.bundled import ensure_prepared  # noqa: E402

TASKS = ("demo_addition_zs", "demo_reviews_zs")
LENGTHS = {"inputs": 64, "targets": 16}
PACKED = {"inputs": 256, "targets": 32}  # room for several examples a row


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    import apache_beam as beam

    ensure_prepared()
    out = str(tmp_path_factory.mktemp("cache"))
    cache.parse_cache_flags(["--min_shards=2"])
    with beam.Pipeline(options=beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner"])) as p:
        cache.build(p, TASKS, out)
    cache.add_cache_dirs([out])
    return out


def _examples(name: str, use_cached: bool) -> list[dict]:
    ds = seqio.get_mixture_or_task(name).get_dataset(
        sequence_length=LENGTHS, split="train", use_cached=use_cached, shuffle=False, num_epochs=1)
    return list(ds.as_numpy_iterator())


def _key(ex: dict) -> tuple:
    return (ex["inputs_pretokenized"], ex["targets_pretokenized"])


def _packed(examples: list[dict]) -> list[dict]:
    rows = sorted(examples, key=_key)  # the cache job reshuffles: compare in one order
    ds = tf.data.Dataset.from_generator(
        lambda: ({"inputs": r["inputs"], "targets": r["targets"]} for r in rows),
        output_signature={k: tf.TensorSpec([None], tf.int32) for k in ("inputs", "targets")})
    ds = seqio.EncDecFeatureConverter(pack=True)(ds, PACKED).batch(4)
    return list(ds.as_numpy_iterator())


def test_cache_holds_exactly_the_uncached_examples_and_packs_the_same(cache_dir):
    plan = cache.check_cached(TASKS[0], "train", use_cached=True)
    assert plan.cached == {TASKS[0]: f"{cache_dir}/{TASKS[0]}"}
    assert TASKS[0] in plan.log_line()
    for name in TASKS:
        cached, live = _examples(name, True), _examples(name, False)
        assert len(cached) == len(live) > 100
        assert [_key(e) for e in cached] != [_key(e) for e in live]  # read from the reshuffled cache
        for a, b in zip(sorted(cached, key=_key), sorted(live, key=_key)):
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}: {k}")
        pa, pb = _packed(cached), _packed(live)
        assert len(pa) == len(pb) > 0 and pa[0]["encoder_segment_ids"].max() > 1
        for x, y in zip(pa, pb):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])


def test_the_fingerprint_is_the_same_in_another_process():
    import json
    import subprocess
    import sys

    code = ("from flanjax.data import mixtures, cache; import json; "
            f"print(json.dumps(cache.fingerprint({TASKS[0]!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == cache.fingerprint(TASKS[0])


def test_a_cache_built_with_another_render_seed_is_refused(cache_dir, monkeypatch):
    monkeypatch.setitem(tasks._RENDER_SEEDS, TASKS[0], 7)
    with pytest.raises(cache.CacheError, match=rf"{TASKS[0]}.*render seed 0 \(this run: 7"):
        cache.check_cached(TASKS[0], "train", use_cached=True)


def test_a_cache_built_from_other_templates_is_refused(cache_dir, monkeypatch):
    renderer = tasks.renderer_of_task(TASKS[1])
    entry = dataclasses.replace(renderer.entry, templates=renderer.entry.templates[:-1])
    monkeypatch.setattr(renderer, "entry", entry)
    with pytest.raises(cache.CacheError, match=rf"'{TASKS[1]}'.*other templates.*--overwrite"):
        cache.check_cached(TASKS[1], "train", use_cached=True)


def test_a_missing_cache_names_the_tasks_and_the_build_command(cache_dir):
    with pytest.raises(cache.CacheError, match=r"demo_entailment_zs.*python -m flanjax.data.cache"):
        cache.check_cached("demo", "train", use_cached=True)


def test_few_shot_tasks_are_rendered_live_not_refused(cache_dir):
    plan = cache.check_cached("demo_reverse_words_fs", "train", use_cached=True)
    assert plan.cached == {} and plan.live == ["demo_reverse_words_fs"]


def test_the_cache_command_says_what_it_does_in_two_lines(tmp_path):
    """`python -m flanjax.data.cache` printed 1,625 lines for the demo (Beam's and seqio's
    INFO, ten dumped example tensors a task): now a line before and a line after."""
    import subprocess
    import sys

    from _train_helpers import HANG_GUARD_S, REPO

    ensure_prepared()  # the bundled data's one-time TFDS preparation lines are not the job's
    out = tmp_path / "cache"
    proc = subprocess.run([sys.executable, "-m", "flanjax.data.cache", "--tasks=demo_addition_zs",
                           f"--output_cache_dir={out}", "--min_shards=1"], cwd=REPO,
                          capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.splitlines() == [
        f"[cache] 1 task(s) -> {out} (--runner=DirectRunner)",
        f"[cache] cached 1 of 1 cacheable tasks under {out}"], proc.stdout
    assert proc.stderr == "", proc.stderr
    assert cache.read_fingerprint(str(out / "demo_addition_zs")) == cache.fingerprint("demo_addition_zs")
