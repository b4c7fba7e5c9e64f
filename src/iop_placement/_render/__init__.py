"""Formats: a neutral document as plain text, Markdown or an HTML fragment.

Nothing here is clinical: the model says what to show (see ``_model.recommendation`` and
``_model.explanation``), these modules only say how.
"""
