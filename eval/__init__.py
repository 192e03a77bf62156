"""Offline evaluation on the nine benchmarks: generate (resumable), grade (pure, CPU, hang-free), report."""
