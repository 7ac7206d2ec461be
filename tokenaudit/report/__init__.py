"""Renderers: one per output format. They only render; they never exit or decide."""
