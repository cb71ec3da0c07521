"""Plasticity rules as pulse programmes for memristive synapse banks."""
