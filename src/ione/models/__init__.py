"""Pure, vectorised model kernels: memristive devices, neurons, plasticity, stimulation.

Every kernel here is a pure function over whole populations (docs/design.md, "Model kernels"):
parameters and state are frozen dataclasses of numbers and numpy arrays, time is integer
microseconds, randomness comes from an explicit ``numpy.random.Generator``, and nothing reads a
clock or does I/O. Subpackages:

- :mod:`ione.models.memristor`: device models (Southampton data-driven TiOx, VTEAM, Yakopcic,
  diffusive) behind one interface.
- :mod:`ione.models.neuron`: point neurons (LIF, AdEx, DPI, Izhikevich, the 1M1T1R diffusive
  memristor neuron), simulated cultures and their response to capacitive stimulation.
- :mod:`ione.models.plasticity` and :mod:`ione.models.synapses`: memristive synapse banks and the
  rules that program them.
"""
