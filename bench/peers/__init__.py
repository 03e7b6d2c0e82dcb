"""Peer servers for the benchmarks: code written for valetkey's bench, the peers' packages installed at run time."""
