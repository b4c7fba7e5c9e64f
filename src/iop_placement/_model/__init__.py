"""The model: the assessment, levels and flags, and what a recommendation says.

The bottom of the pipeline: nothing here knows rules, backends or integrations.
"""
