"""Held-out evaluation: metrics, rank classification, generation, aggregates, reports.

  metrics        accuracy, exact match, SQuAD F1, ROUGE, BLEU, multiclass F1, Pearson
                 (each also a seqio metric fn)
  ranking        rank classification over answer options (T0/FLAN)
  generation     greedy/beam decoding for generation tasks, CoT answer extraction
  heldout        evaluate a checkpoint on clusters / mixtures / tasks; T0 and FLAN aggregates
  report         results.json, results.md, TensorBoard scalars, plots
  contamination  13-gram overlap between a training mixture and eval datasets
  checkpoints    load any checkpoint flanjax writes or converts, for evaluation
  finetune       one run of a held-out grid, through `flanjax.train.loop.train`
  batching       padding rows into bucketed batches for the compiled calls
"""

from flanjax.evaluation.metrics import METRICS, get_metric  # noqa: F401
