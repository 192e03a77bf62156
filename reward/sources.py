"""The `data_source` names the recipe writes into its parquets and the reward dispatches on: one list, used by
data_prep (to write them), reward (to score them) and eval (to read them)."""

TRAIN_SOURCE = "math_dapo"

# The nine evaluation benchmarks (../shared/RECIPE.md), in the published table's order.
BENCHMARKS = (
    "AIME24",
    "AIME25",
    "AMC23",
    "MATH-500",
    "Minerva",
    "Olympiad-Bench",
    "HMMT25",
    "BRUMO25",
    "CMIMC25",
)

# The three validated during training (JustRL's training script).
TRAIN_VALIDATION = ("AIME24", "AIME25", "AMC23")
