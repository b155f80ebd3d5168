"""Web sources: discover URLs, fetch them politely, keep every response in the raw zone."""
