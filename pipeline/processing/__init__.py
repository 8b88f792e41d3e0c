"""Processing: raw canonical records -> hourly zone history, heuristics and read models.

Every module here is pure (records or DataFrames in, records or DataFrames out) apart from
`job`, the thin IO layer the scheduler and the backfill call.
"""
