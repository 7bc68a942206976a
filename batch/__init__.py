"""Batch jobs: `retain score` over every customer at a cutoff, and the score store the API serves from."""
