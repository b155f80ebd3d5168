"""Text: cleaning, site boilerplate, and the fields read off an article."""
