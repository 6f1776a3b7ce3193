"""Machine-type and device bus/model recording hooks and admin commands.

Not implemented yet.
"""
