"""Held-out evaluation: rank classification, generation, aggregates, reports.

  ranking        rank classification over answer options (T0/FLAN)
  generation     greedy/beam decoding for generation tasks, CoT answer extraction
  heldout        evaluate a checkpoint on clusters / mixtures / tasks; T0 and FLAN aggregates
  (the metrics live with the tasks that use them: `flanjax.data.metrics`)
  report         results.json, results.md, TensorBoard scalars, plots
  contamination  13-gram overlap between a training mixture and eval datasets
  checkpoints    load any checkpoint flanjax writes or converts, for evaluation
  batching       padding rows into bucketed batches for the compiled calls
"""
