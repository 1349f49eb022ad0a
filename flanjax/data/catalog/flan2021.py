"""FLAN 2021 (Wei et al. 2021, "Finetuned Language Models Are Zero-Shot Learners"), Figure 3:
62 datasets in 12 task clusters, on their TensorFlow Datasets names.

The entries live in `flan2021_a` (NLI, commonsense, sentiment, paraphrase, closed-book QA,
struct-to-text) and `flan2021_b` (translation, reading comprehension, reading comprehension
with commonsense, coreference, misc, summarization).
"""

from flanjax.data.catalog import flan2021_a  # noqa: F401
from flanjax.data.catalog import flan2021_b  # noqa: F401

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

# Clusters dropped together with a held-out one. FLAN Section 2.3 / Appendix: when NLI is
# held out, paraphrase is also removed (paraphrase detection is close to entailment), and
# reading comprehension with commonsense goes with commonsense (and vice versa).
OVERLAPPING_CLUSTERS = {
    "nli": ("paraphrase",),
    "paraphrase": ("nli",),
    "commonsense": ("reading_comprehension_with_commonsense",),
    "reading_comprehension_with_commonsense": ("commonsense", "reading_comprehension"),
    "reading_comprehension": ("reading_comprehension_with_commonsense",),
    "closed_book_qa": ("reading_comprehension",),
}
