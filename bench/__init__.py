"""valetkey's side-by-side benchmarks (``make bench`` / ``python -m bench``); not part of the tests."""
