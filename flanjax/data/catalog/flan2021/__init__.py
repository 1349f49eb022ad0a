"""FLAN 2021 (Wei et al. 2021, "Finetuned Language Models Are Zero-Shot Learners"), Figure 3:
62 datasets in 12 task clusters, on their TensorFlow Datasets names.

One module per cluster, each holding its preprocessors, its catalog entries and flanjax's
own instruction patterns; `common` holds what they share. The entries are at FLAN's code
granularity (`flan/tasks.py`: ANLI R1-R3 and MNLI matched / mismatched are separate tasks,
counted as one paper dataset each through `paper_dataset`).

The own patterns are pure data shaped like FLAN's `flan/templates.py`:
`{pattern_key: [(input, target), ...]}`, ten templates per dataset, written for flanjax
(FLAN's own wording is not reused). Conventions taken from FLAN:
- `{options_}` (the example's answer options as "OPTIONS:\\n- a\\n- b") closes the input of
  every template of a task with answer options; the target is then `{answer}`.
- Up to three templates per dataset are "turned around" (Section 2.2): they ask for the
  input from the output. Their indices are in each module's `TURNED_AROUND`.
- Datasets that FLAN gives one template list share it here too: `anli` (R1-R3), `mnli`
  (matched / mismatched), `arc` (Challenge / Easy) and the translation pairs.
Field names follow FLAN's `flan/tasks.py` preprocessors.

Splits: canonical "train" is the full TFDS training split, cut to `MAX_TRAIN_EXAMPLES`;
"validation" is the official split FLAN reported results on; builders with only a train
split are cut into disjoint train / validation / test slices, at FLAN's offsets where FLAN
had them. Examples without a gold label are skipped.

Importing this package registers the entries in the order of `CLUSTERS` (the modules are
imported below in that order); it reads no data.
"""

import importlib

from flanjax.data.catalog.flan2021.common import COLLECTION, ENTRIES, MAX_TRAIN_EXAMPLES  # noqa: F401

# The 12 clusters of Figure 3, in the paper's order.
CLUSTERS = (
    "nli",
    "commonsense",
    "sentiment",
    "paraphrase",
    "closed_book_qa",
    "struct_to_text",
    "translation",
    "reading_comprehension",
    "reading_comprehension_with_commonsense",
    "coreference",
    "misc",
    "summarization",
)

# Clusters dropped together with a held-out one, so that the held-out task type stays
# unseen: FLAN's own rules (`flan/task_splits.py` generate_inter_cluster_splits, "Special
# rule for reading comp and common sense tasks"): reading comprehension and commonsense each
# drop reading comprehension with commonsense, which drops both of them; paraphrase and NLI
# ("entailment") drop each other. Edit it here to change every `*_minus_{cluster}` mixture.
OVERLAPPING_CLUSTERS = {
    "nli": ("paraphrase",),
    "paraphrase": ("nli",),
    "commonsense": ("reading_comprehension_with_commonsense",),
    "reading_comprehension_with_commonsense": ("commonsense", "reading_comprehension"),
    "reading_comprehension": ("reading_comprehension_with_commonsense",),
}

# Registration order = CLUSTERS: each cluster's module registers its entries on import
# (imported by name here so that no import sorter can change the order).
MODULES = tuple(importlib.import_module(f"{__name__}.{cluster}") for cluster in CLUSTERS)
# Every own pattern list and its turned-around indices, by pattern key.
PATTERNS = {k: v for m in MODULES for k, v in m.PATTERNS.items()}
TURNED_AROUND = {k: v for m in MODULES for k, v in m.TURNED_AROUND.items()}
