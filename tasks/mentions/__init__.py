"""Mentions: the people, organisations and places an article names, and its quotes."""
