"""Dedup: exact copies (paragraphs, articles) and near copies (MinHash, LSH)."""
