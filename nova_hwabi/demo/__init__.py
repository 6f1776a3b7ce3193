"""The end-to-end demo: a real Placement, a sample fleet, boot requests."""
