"""Plasticity rules as pulse programmes for memristive synapse banks.

- :class:`RateRule`: the hub's spike-rate-dependent rule (SRDP), the published one and the default.
- :class:`TimingRule`: the earlier timing rule (100 ms / 37.5 ms windows).
- :class:`PairSTDP`: pair-based STDP turned into graded-width pulses.
- :class:`SpikeHistory`: the last spikes of every neuron, which the rules read.
"""

from ione.models.plasticity.history import SpikeHistory
from ione.models.plasticity.rules import (
    DUT1_PULSES,
    HUB_GUI_PULSES,
    TIMING_RULE_PULSES,
    PairSTDP,
    PulseProgramme,
    RateRule,
    TimingRule,
)

__all__ = [
    "DUT1_PULSES",
    "HUB_GUI_PULSES",
    "TIMING_RULE_PULSES",
    "PairSTDP",
    "PulseProgramme",
    "RateRule",
    "SpikeHistory",
    "TimingRule",
]
