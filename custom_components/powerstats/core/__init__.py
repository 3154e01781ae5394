"""The functional core: accounting, rollups, views, export files, publishing plans, GitHub.

Nothing here imports Home Assistant or reads the clock: times and time zones come in as
arguments, so every rule is tested exhaustively and replayed fast (tests/integration/core).
"""
