"""Head office figures, computed from the synced records by SQL aggregates (issue 18).

Each report is a module with one job: a parse of its filters, a query, its columns.
``table`` answers any of them as JSON or as CSV with the same columns and filters.
"""
