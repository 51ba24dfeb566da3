"""Benchmark suite: `python -m bench [--sizes 10k,100k,1m] [--only NAME,…]`."""
