"""S1 decoder throughput as a multiple of real time (not a pytest test: run `python -m tests.bench_s1`).

Real time is the fastest a meter may send: 4.2 kHz frames x 45 bytes = 189 kB/s. Goal: >= 50x.
"""

from __future__ import annotations

import argparse
import time

REAL_TIME_BPS = 4200 * 45


def main(argv: list[str] | None = None) -> dict:
    from hwtools.s1 import decode_bytes
    from hwtools.s1.analysis import analyze
    from hwtools.s1.synth import SynthConfig, synth_stream

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0, help="capture length at 4.2 kHz")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    frames = int(args.seconds * 4200)
    cfg = SynthConfig(frames=frames, per_period=False, sampling=42, v_harmonics={3: 0.03, 5: 0.02},
                      i_harmonics={3: 0.2, 5: 0.1}, v_noise=0.2, i_noise=0.01, seed=1,
                      corrupt_fcs=tuple(range(1000, frames, 5000)), garbage={k: 13 for k in range(777, frames, 7000)})
    t0 = time.perf_counter()
    data = synth_stream(cfg)
    t_synth = time.perf_counter() - t0

    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = decode_bytes(data)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    analyze(res.frames)
    t_an = time.perf_counter() - t0

    fig = {
        "capture_s": args.seconds,
        "bytes": len(data),
        "frames": res.stats.frames,
        "fcs_errors": res.stats.fcs_errors,
        "decode_s": best,
        "mb_per_s": len(data) / best / 1e6,
        "frames_per_s": res.stats.frames / best,
        "x_real_time": len(data) / best / REAL_TIME_BPS,
        "synth_s": t_synth,
        "analyze_s": t_an,
    }
    print(f"S1 decoder, {args.seconds:g} s of 4.2 kHz capture = {len(data) / 1e6:.2f} MB, "
          f"{res.stats.frames} frames ({res.stats.fcs_errors} FCS errors, {res.stats.bytes_skipped} bytes skipped)")
    print(f"  decode  {best * 1e3:8.1f} ms  {fig['mb_per_s']:7.1f} MB/s  {fig['frames_per_s'] / 1e6:6.2f} M frames/s  "
          f"{fig['x_real_time']:6.0f}x real time (goal >= 50x)")
    print(f"  synth   {t_synth * 1e3:8.1f} ms   analyze (50 periods) {t_an * 1e3:.1f} ms")
    return fig


if __name__ == "__main__":
    main()
