"""The smoke run: the whole recipe through verl's real trainer on a tiny local model (launch/cpu_smoke.sh)."""
