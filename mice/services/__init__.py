"""
Long-running services: they wire protocols to pure code and schedule work.
"""
