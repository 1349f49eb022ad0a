"""FLAN 2021 (Wei et al. 2021, "Finetuned Language Models Are Zero-Shot Learners"), Figure 3:
62 datasets in 12 task clusters, on their TensorFlow Datasets names.

The collection's facts live here; the entries in `flan2021_a` (NLI, commonsense, sentiment,
paraphrase, closed-book QA, struct-to-text) and `flan2021_b` (translation, reading
comprehension, reading comprehension with commonsense, coreference, misc, summarization),
which `flanjax.data.catalog` imports in that order.
"""

# FLAN 2021 trains on at most 30k examples per dataset (Wei et al. 2021, Section 2.3/
# Appendix: "we limit the number of training examples per dataset to 30k"), applied as a
# split slice of the train split (`CatalogEntry.max_train_examples`).
MAX_TRAIN_EXAMPLES = 30_000

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
# unseen (FLAN §2.3: a held-out cluster is evaluated after instruction tuning on the other
# clusters; datasets that exercise the same skill under another cluster name would leak it).
# This table is flanjax's reading of that rule: paraphrase detection is close to entailment;
# reading comprehension with commonsense shares data styles with both commonsense and
# reading comprehension; closed-book QA answers questions that reading comprehension sets
# pose with context. Edit it here to change every `*_minus_{cluster}` mixture at once.
OVERLAPPING_CLUSTERS = {
    "nli": ("paraphrase",),
    "paraphrase": ("nli",),
    "commonsense": ("reading_comprehension_with_commonsense",),
    "reading_comprehension_with_commonsense": ("commonsense", "reading_comprehension"),
    "reading_comprehension": ("reading_comprehension_with_commonsense",),
    "closed_book_qa": ("reading_comprehension",),
}
