"""Ablations that need code: each module here is loaded by the YAML overlay of the same name beside it (a policy loss
through `actor_rollout_ref.model.external_lib`, a reward through its `pkg://` path). recipe/README.md, "Adding an
ablation", walks through both."""
