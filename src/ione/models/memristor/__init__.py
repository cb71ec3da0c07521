"""Memristive device models behind one interface (:class:`MemristorModel`).

=====================  ==========================================  ==============================
model                  source                                      behaviour
=====================  ==========================================  ==============================
:class:`DataDriven`    Messaris et al., IEEE TCAD 37(12), 2018     TiOx ReRAM, state-dependent
                                                                   saturating switching, DUT1/DUT2
:class:`Vteam`         Kvatinsky et al., IEEE TCAS-II 62(8), 2015  threshold, rectangular window
:class:`Yakopcic`      Yakopcic et al., IEEE EDL 32(10), 2011      sinh I–V, windowed state
:class:`Diffusive`     T. Wang et al., IEEE TCAS-AI 1(2), 2024     volatile, stochastic rupture
=====================  ==========================================  ==============================

Every model offers ``initial_state``, ``apply_pulses(state, volts, width_us, mask, rng)``,
``idle(state, duration_us, rng)``, ``read(state, v_read)`` and ``resistance(state)``, vectorised
over arrays of devices.
"""

from ione.models.memristor._interface import MemristorModel
from ione.models.memristor.data_driven import (
    DATA_DRIVEN_DUT1,
    DATA_DRIVEN_DUT2,
    DataDriven,
    DataDrivenParams,
    DataDrivenState,
    data_driven_pulse,
)
from ione.models.memristor.diffusive import WANG2024, Diffusive, DiffusiveParams, DiffusiveState
from ione.models.memristor.vteam import VTEAM_TYPICAL, Vteam, VteamParams, VteamState
from ione.models.memristor.yakopcic import (
    YAKOPCIC_DEFAULT,
    Yakopcic,
    YakopcicParams,
    YakopcicState,
)

__all__ = [
    "DATA_DRIVEN_DUT1",
    "DATA_DRIVEN_DUT2",
    "VTEAM_TYPICAL",
    "WANG2024",
    "YAKOPCIC_DEFAULT",
    "DataDriven",
    "DataDrivenParams",
    "DataDrivenState",
    "Diffusive",
    "DiffusiveParams",
    "DiffusiveState",
    "MemristorModel",
    "Vteam",
    "VteamParams",
    "VteamState",
    "Yakopcic",
    "YakopcicParams",
    "YakopcicState",
    "data_driven_pulse",
]
