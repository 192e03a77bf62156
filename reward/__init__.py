"""JustRL rewards: the strict training verifier, math-verify validation scoring, and the lenient ablation.

`reward/score.py` is the verl custom-reward entry point; `reward/extract.py` and `reward/math_equal.py` are shared
with `eval/` so that training and evaluation read answers the same way.
"""
