"""What a culture population needs before its site starts: its recording, its electrode stream
and detector, or its stimulation guard, each checked with an error that names the population.

``ione run`` calls :func:`check_sources` before any site starts, so a missing file, a channel
count that is not the population's size or guard limits that would reject the culture's own
stimulus stop the run at once, in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ione.culture.detect import DetectorConfig, StreamingDetector
from ione.culture.guard import GuardLimits, StimulationGuard, reason_table
from ione.culture.spiketrains import SpikeTrains, read_spike_trains, select_channels
from ione.culture.stimulus import commands_from_events
from ione.culture.streams import VoltageStream, open_recording
from ione.events import make_events
from ione.network import Experiment, Params, Population
from ione.node.cultures import DEFAULT_LATENCY_US, capacitive_design, default_guard_limits

__all__ = [
    "SiteError",
    "check_population",
    "check_sources",
    "culture_guard",
    "electrode_stream",
    "guards_meta",
    "recorded_trains",
]


class SiteError(RuntimeError):
    """A site cannot start: a missing key file, an unknown site, a model it cannot run."""


def recorded_trains(exp: Experiment, pop: Population) -> SpikeTrains:
    """The spike trains a recorded culture (``model = "recording"``) replays, its channels
    selected; the file's path is relative to the description's file.

    Raises
    ------
    SiteError
        The file is missing or unreadable, a channel is unknown, or the population's size is
        not the number of channels replayed.
    """
    params = pop.parameters()
    path = _data_path(exp, params.file)
    where = f"population {pop.name} (params.file = {params.file!r})"
    try:
        trains = select_channels(read_spike_trains(path), params.channel_names())
    except (OSError, ValueError) as exc:
        raise SiteError(f"{where}: {exc}") from None
    n = len(trains.channels)
    if n != pop.size:
        raise SiteError(
            f"{where}: the recording replays {n} channel{'s' * (n != 1)} but size = {pop.size}; "
            "set size to the number of channels or name them in params.channels"
        )
    return trains


def culture_guard(pop: Population) -> tuple[GuardLimits, int]:
    """The stimulation guard's limits of a simulated culture and the latency allowed to its
    remote stimuli (µs), from the population's ``guard`` table (``latency_us`` and the fields
    of :class:`~ione.culture.GuardLimits`; electrodes default to one per neuron).

    Raises
    ------
    SiteError
        A limit is unknown or invalid, or the limits would reject the culture's own stimulus at
        full weight on a fresh guard (the run could never stimulate it).
    """
    table = Params(pop.guard).to_dict()
    where = f"population {pop.name}: guard"
    latency = table.pop("latency_us", DEFAULT_LATENCY_US)
    if isinstance(latency, bool) or not isinstance(latency, int) or latency < 0:
        raise SiteError(f"{where}.latency_us: expected an integer >= 0 µs, got {latency!r}")
    electrodes = table.pop("electrodes", None)
    try:
        limits = default_guard_limits(pop.size, **table)
        if electrodes is not None:
            limits = GuardLimits.from_dict({**limits.to_dict(), **table, "electrodes": electrodes})
    except (TypeError, ValueError) as exc:
        raise SiteError(f"{where}: {exc}") from None
    if pop.model == "culture":
        stimulation = pop.parameters().stimulation
        full = make_events([0], [limits.electrodes.indices[0]], [1.0])
        command = commands_from_events(full, capacitive_design(stimulation, latency), source="x")
        decision = StimulationGuard(limits).check(command[0], 0)
        if not decision.allowed:
            raise SiteError(
                f"{where}: these limits reject the culture's own stimulus at full weight "
                f"({stimulation.max_ramps} pulses {stimulation.ramp_interval_us} µs apart): "
                f"{decision.reason}: {decision.detail}"
            )
    return limits, latency


def _data_path(exp: Experiment, file: str) -> Path:
    path = Path(file)
    if not path.is_absolute() and exp.source:
        path = Path(exp.source).parent / path
    return path


def electrode_stream(exp: Experiment, pop: Population) -> tuple[VoltageStream, StreamingDetector]:
    """The voltage stream and detector of a culture seen through its electrodes
    (``model = "electrodes"``).

    Raises
    ------
    SiteError
        The recording is missing or unreadable, its channel count is not the population's
        size, or a detector setting is invalid.
    """
    p = pop.parameters()
    where = f"population {pop.name} (params.file = {p.file!r})"
    kwargs: dict[str, Any] = {}
    if p.format == "binary":
        kwargs = {
            "sampling_frequency": p.sampling_frequency_hz,
            "num_channels": p.num_channels,
            "dtype": p.dtype or "int16",
        }
    try:
        stream = VoltageStream(open_recording(_data_path(exp, p.file), p.format or None, **kwargs))
    except (OSError, ValueError) as exc:
        raise SiteError(f"{where}: {exc}") from None
    if stream.n_channels != pop.size:
        raise SiteError(
            f"{where}: the recording has {stream.n_channels} channels but size = {pop.size}"
        )
    exclusion = p.exclusion_radius_um or None
    try:
        config = DetectorConfig(
            band_hz=(p.band_low_hz, p.band_high_hz),
            threshold=p.threshold,
            peak_sign=p.peak_sign,
            dead_time_ms=p.dead_time_ms,
            warmup_s=p.warmup_s,
            noise_chunk_s=min(1.0, p.warmup_s),
            exclusion_radius_um=exclusion,
        )
        positions = stream.positions_um() if exclusion else None
        detector = StreamingDetector(stream.n_channels, stream.fs, config, positions=positions)
    except (TypeError, ValueError) as exc:
        raise SiteError(f"population {pop.name}: detector: {exc}") from None
    return stream, detector


def check_population(exp: Experiment, pop: Population) -> None:
    """Open a recorded culture's file, an electrode culture's recording and detector, or check a
    simulated culture's guard; nothing for other populations (:class:`SiteError` if wrong)."""
    if pop.model == "recording":
        recorded_trains(exp, pop)
    elif pop.model == "electrodes":
        electrode_stream(exp, pop)
    elif pop.kind == "culture":
        culture_guard(pop)


def check_sources(exp: Experiment) -> None:
    """:func:`check_population` for every population, so that a run fails before any site
    starts."""
    for pop in exp.populations:
        check_population(exp, pop)


def guards_meta(exp: Experiment, name: str) -> dict[str, Any]:
    """The limits of the site's stimulation guards, echoed in its recording, and what the
    numeric reason codes of its ``stimulation`` and ``guard`` records mean."""
    guards = {}
    for pop in exp.populations_at(name):
        if pop.model == "culture":
            limits, latency = culture_guard(pop)
            guards[pop.name] = {**limits.to_dict(), "latency_us": latency}
    if not guards:
        return {}
    return {"stimulation_guards": guards, "stimulation_reasons": reason_table()}
