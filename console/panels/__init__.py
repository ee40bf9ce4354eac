"""What each page shows, as functions of worker replies (no Dash callbacks, no page registry)."""
