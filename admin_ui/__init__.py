"""The admin UI blueprint (welfare officers edit program thresholds)."""
