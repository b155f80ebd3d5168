"""Ingest: find the inputs, cut them into shards, read, decode and extract them."""
