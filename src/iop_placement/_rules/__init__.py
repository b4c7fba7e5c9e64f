"""Rule sets: the condition language, its normal form, loading and checking rule files.

Also the catalogue (the rules in words) and the ASAM crosswalk a rule set may carry.
"""
