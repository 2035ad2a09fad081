"""PNG of an S1 capture: two periods of the waveforms, and the harmonic spectrum.

Uses matplotlib's Agg backend without touching global state (no pyplot), and writes PNGs without
the version/date metadata, so the same capture gives the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .analysis import Analysis, analyze, longest_run
from .frames import S1Frames

_COLOURS = ("tab:brown", "black", "tab:grey", "tab:blue")  # Belgian/IEC 60446 L1, L2, L3, N


def plot_capture(frames: S1Frames, out: str | Path, analysis: Analysis | None = None,
                 periods_shown: int = 2) -> Path:
    """Write the waveform and spectrum plot of ``frames`` to ``out`` (PNG); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    a = analysis or analyze(frames)
    seg = frames[longest_run(frames)]
    n = min(len(seg), int(round(periods_shown * a.samples_per_period)))
    t_ms = np.arange(n) / a.sample_rate_hz * 1e3
    v, i = seg.v[:n], seg.i[:n]

    fig = Figure(figsize=(10, 8), dpi=100)
    FigureCanvasAgg(fig)
    ax_v, ax_i, ax_h = fig.subplots(3, 1)
    for p, r in enumerate(a.phases):
        ax_v.plot(t_ms, v[:, p], color=_COLOURS[p], label=f"V {r.phase} {r.v_rms:.1f} V rms")
        ax_i.plot(t_ms, i[:, p], color=_COLOURS[p], label=f"I {r.phase} {r.i_rms:.2f} A rms")
    if len(a.phases) == 3:
        ax_i.plot(t_ms, i[:, 3], color=_COLOURS[3], ls="--", label=f"I N {a.i_n_rms:.2f} A rms")
    ax_v.set_ylabel("V")
    ax_i.set_ylabel("A")
    ax_i.set_xlabel("time (ms)")
    ax_v.set_title(f"S1 capture, {a.freq_hz:.3f} Hz, seq {a.first_seq}")
    for ax in (ax_v, ax_i):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)

    orders = np.arange(1, len(a.phases[0].v_harmonics) + 1)
    width = 0.8 / (2 * len(a.phases))
    for p, r in enumerate(a.phases):
        for j, (name, h, thd) in enumerate((("V", r.v_harmonics, r.v_thd), ("I", r.i_harmonics, r.i_thd))):
            h = np.asarray(h)
            rel = 100 * h / h[0] if h[0] > 0 else np.zeros_like(h)
            x = orders + (2 * p + j - len(a.phases) + 0.5) * width
            ax_h.bar(x, np.maximum(rel, 1e-3), width=width, color=_COLOURS[p], alpha=1.0 if name == "V" else 0.5,
                     label=f"{name} {r.phase} THD {100 * thd:.2f}%")
    ax_h.set_yscale("log")
    ax_h.set_ylim(1e-2, 150)
    ax_h.set_xlabel("harmonic order")
    ax_h.set_ylabel("% of fundamental")
    ax_h.grid(True, which="both", alpha=0.3)
    ax_h.legend(loc="upper right", fontsize=7, ncol=2)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, format="png", metadata={"Software": None})
    return out
