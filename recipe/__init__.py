"""The JustRL recipe: Hydra overlays on verl's ppo_trainer (the YAML here), the published protocol
(`recipe.protocol`), tools around the YAML (`recipe.tools`), the CPU smoke harness (`recipe.smoke`) and a CPU
platform plugin for verl (`recipe.cpu`)."""
