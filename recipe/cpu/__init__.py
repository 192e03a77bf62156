"""A CPU platform and a transformers rollout for verl 0.9.1, loaded through verl's extension points (README.md)."""
