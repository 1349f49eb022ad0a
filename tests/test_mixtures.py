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


def test_t0_rate_counts_big_datasets_as_500k(monkeypatch):
    mix = seqio.get_mixture_or_task("t0")
    by_name = {t.name: t for t in mix.tasks}
    entry = catalog.get_entry("t0_amazon_polarity")
    t = len(entry.templates)
    _fake_counts(monkeypatch, {"t0_amazon_polarity_zs": 3_600_000, "t0_commonsense_qa_zs": 9741})
    assert mix.get_rate(by_name["t0_amazon_polarity_zs"]) == 500_000
    n_templates = len(catalog.get_entry("t0_commonsense_qa").templates)
    assert mix.get_rate(by_name["t0_commonsense_qa_zs"]) == min(9741 * n_templates, 500_000)
    del t


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
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    n_tasks, n_mixtures = map(int, out.stdout.split()[-2:])
    assert n_tasks > 1000 and n_mixtures > 50
    assert not (tmp_path / "demo").exists() or not any((tmp_path / "demo").iterdir())
