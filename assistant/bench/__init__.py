"""`assistant bench`: every stage of the assistant measured against the raw libraries doing the same work.

Modules: ``corpus`` (the seeded news-like corpus), ``stages`` (ingest, retrieval), ``answer`` (the LLM),
``memory`` (peak RSS of `assistant serve`), ``report`` (table and JSON), ``runner`` (runs them in order).
"""
