"""Scheduler host filters loaded through stevedore entry points.

Not implemented yet.
"""
