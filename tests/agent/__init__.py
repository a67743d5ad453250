"""Tests of the capture agent (no database, no Django)."""
