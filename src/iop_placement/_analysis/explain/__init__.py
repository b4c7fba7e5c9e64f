"""Explanations: why not a more intensive level (near misses), and what would change it."""
