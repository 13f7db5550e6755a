"""spool package."""
