"""Mixture rates (hand-computed), leave-one-cluster-out variants, offline registration."""

import os
import subprocess
import sys
import textwrap

import pytest
import seqio

from flanjax.data import catalog, mixtures
from flanjax.data.bundled import ensure_prepared
from flanjax.data.catalog import flan2021 as flan2021_catalog
from _train_helpers import HANG_GUARD_S


def _rates(name):
    mix = seqio.get_mixture_or_task(name)
    total = sum(mix.get_rate(t) for t in mix.tasks)
    return {t.name: mix.get_rate(t) / total for t in mix.tasks}


def test_demo_rates_are_examples_proportional():
    ensure_prepared()
    rates = _rates("demo")
    # Ten bundled datasets of 2,000 training examples each, under the 3,000 maximum:
    # examples-proportional mixing gives each 2000 / 20000.
    assert len(rates) == 10
    for r in rates.values():
        assert r == pytest.approx(0.1)
    minus = _rates("demo_minus_nli")
    assert len(minus) == 8 and all(r == pytest.approx(1 / 8) for r in minus.values())


def _fake_counts(monkeypatch, counts):
    cache = dict(mixtures._COUNT_CACHE)
    cache.update(counts)
    monkeypatch.setattr(mixtures, "_COUNT_CACHE", cache)


def test_flan2021_rates_cap_at_3000(monkeypatch):
    names = [n for n in seqio.get_mixture_or_task("flan2021").tasks]
    counts = {t.name: 3000 for t in names}
    counts.update({"rte_zs": 2490, "anli_r1_zs": 16946, "cb_zs": 250, "snli_zs": 30000})
    _fake_counts(monkeypatch, counts)
    rates = _rates("flan2021")
    # Hand-computed: every other dataset sits at the cap (3,000).
    others = len(names) - 4
    total = 3000 * others + 2490 + 3000 + 250 + 3000
    assert rates["rte_zs"] == pytest.approx(2490 / total)
    assert rates["anli_r1_zs"] == pytest.approx(3000 / total)
    assert rates["cb_zs"] == pytest.approx(250 / total)


def test_t0_rates_follow_t_zero_caps_without_counting(monkeypatch):
    # t-zero gives each (dataset, prompt) task `train_size` from datasets.csv, or
    # 500_000 // num_prompts above 500k; flanjax's one task per dataset sums its prompts.
    def no_counting(*_, **__):
        raise AssertionError("T0 rates must come from the fact table, not the data")

    monkeypatch.setattr(mixtures, "num_train_examples", no_counting)
    mix = seqio.get_mixture_or_task("t0")
    rate = {t.name: mix.get_rate(t) for t in mix.tasks}
    k = {n: len(catalog.get_entry(n).templates) for n in ("t0_amazon_polarity", "t0_glue_qqp",
                                                         "t0_commonsense_qa")}
    assert rate["t0_amazon_polarity_zs"] == k["t0_amazon_polarity"] * (500_000 // k["t0_amazon_polarity"])
    assert rate["t0_glue_qqp_zs"] == k["t0_glue_qqp"] * 363_846  # under 500k: not capped
    assert rate["t0_commonsense_qa_zs"] == k["t0_commonsense_qa"] * 9_741
    # own templates: 3 each (hand-computed 3 * 166_666 = 499_998)
    assert rate["t0_amazon_polarity_zs"] == 499_998


def test_t0_plus_and_plus_plus_add_t_zero_stages():
    t0 = {t.name for t in seqio.get_mixture_or_task("t0").tasks}
    plus = {t.name for t in seqio.get_mixture_or_task("t0_plus").tasks}
    plus_plus = {t.name for t in seqio.get_mixture_or_task("t0_plus_plus").tasks}
    # datasets.csv do_train: GPT_EVAL for T0+, SGLUE for T0++.
    assert plus - t0 == {f"t0_{n}_zs" for n in (
        "hellaswag", "ai2_arc_challenge", "ai2_arc_easy", "trivia_qa_unfiltered",
        "web_questions", "squad_v2", "openbookqa_main", "race_high", "race_middle", "piqa")}
    assert plus_plus - plus == {f"t0_super_glue_{n}_zs" for n in (
        "wsc_fixed", "copa", "wic", "record", "boolq", "multirc")}
    assert "t0_super_glue_rte_zs" not in plus_plus  # evaluation only (do_train empty)


def test_flan2022_submixture_weights(monkeypatch):
    mix = seqio.get_mixture_or_task("flan2022")
    counts = {t.name: 1000 for t in mix.tasks}
    counts["anli_r1_zs_varopt"] = 50_000  # over the flan cap of 30k
    _fake_counts(monkeypatch, counts)
    task = next(t for t in mix.tasks if t.name == "anli_r1_zs_varopt")
    zsopt = seqio.get_mixture_or_task("flan_zsopt")
    n_zsopt = len(zsopt.tasks)
    # flan2022 -> flan2021_submix (0.4, four equal parts) -> flan_zsopt (capped 30k).
    expected = 0.4 * (1 / 4) * 30_000 / (30_000 + 1000 * (n_zsopt - 1))
    total_weight = sum(mixtures.FLAN2022_WEIGHTS.values())
    got = mix.get_rate(task) / sum(mix.get_rate(t) for t in mix.tasks)
    assert got == pytest.approx(expected / total_weight)
    assert total_weight == pytest.approx(1.0)


def test_minus_cluster_drops_the_cluster_and_its_overlaps():
    names = {t.name for t in seqio.get_mixture_or_task("flan2021_minus_nli").tasks}
    clusters = {catalog.get_entry(n[: -len("_zs")]).cluster for n in names}
    assert "nli" not in clusters and "paraphrase" not in clusters
    assert {"sentiment", "summarization", "translation"} <= clusters
    sentiment = {t.name for t in seqio.get_mixture_or_task("flan2021_minus_sentiment").tasks}
    assert "rte_zs" in sentiment and "imdb_reviews_zs" not in sentiment


def test_every_cluster_of_every_mixture_has_a_minus_variant():
    registered = set(seqio.MixtureRegistry.names())
    for collection, mixture in (("flan2021", "flan2021"), ("demo", "demo")):
        for cluster in catalog.clusters(collection):
            assert f"{mixture}_minus_{cluster}" in registered
    for cluster in flan2021_catalog.CLUSTERS:
        assert f"flan2022_minus_{cluster}" in registered
    # No variant for a cluster the mixture does not have.
    assert "demo_minus_translation" not in registered
    assert "demo_minus_paraphrase" not in registered  # nli is in demo, paraphrase is not


def test_import_registers_everything_without_reading_data(tmp_path):
    code = textwrap.dedent(
        """
        import socket
        def _no_network(*a, **k):
            raise AssertionError("network touched at import")
        socket.socket.connect = _no_network
        socket.create_connection = _no_network
        import tensorflow_datasets as tfds
        def _no_data(*a, **k):
            raise AssertionError("dataset read at import")
        tfds.load = tfds.builder = _no_data
        import seqio
        import flanjax.data.mixtures
        print(len(seqio.TaskRegistry.names()), len(seqio.MixtureRegistry.names()))
        """
    )
    env = dict(os.environ, FLANJAX_DEMO_DATA_DIR=str(tmp_path / "demo"), FLANJAX_VOCAB="t5")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=HANG_GUARD_S)
    assert out.returncode == 0, out.stderr[-3000:]
    n_tasks, n_mixtures = map(int, out.stdout.split()[-2:])
    assert n_tasks > 1000 and n_mixtures > 50
    assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())
