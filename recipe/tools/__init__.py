"""Python helpers around the recipe's YAML: composition as verl does it, the fidelity check, launch preflight."""
