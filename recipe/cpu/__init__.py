"""CPU layer."""
