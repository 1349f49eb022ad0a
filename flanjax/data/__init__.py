"""The instruction data layer: templates, formats, catalog, sources, seqio tasks and mixtures.

Importing `flanjax.data.mixtures` registers every task and mixture (as `t5.data.mixtures`
does) without touching the network or reading any data.
"""
