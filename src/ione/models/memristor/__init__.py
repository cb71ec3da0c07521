"""Memristive device models behind one interface."""
