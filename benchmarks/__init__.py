"""Benchmark scripts, run as files; a package so that they can import their shared `world` module."""
