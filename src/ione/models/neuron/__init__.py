"""Neuron models: point neurons, silicon neurons, cultures and their stimulation."""
