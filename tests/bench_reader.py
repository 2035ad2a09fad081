"""Reader firmware figures (not a pytest test: `python -m tests.bench_reader`, or `make bench`), all under the
MicroPython unix port, which is 64-bit: objects there are about twice their size on the D32's 32-bit ESP32, so its
heap figures are an upper bound for the board.

* telegrams per second through the reader's per-telegram work (framing, decoding, the capacity tariff, the state
  topics), unpaced, on a day of the meter model's telegrams (target: 50 × real time, i.e. ≥ 50 a second);
* the heap (`gc.collect(); gc.mem_alloc()`) after each simulated hour of that day, run with `-X heapsize=100000`:
  hours 2-24 within ±1 KB of hour 1 (nothing grows);
* the S1 counter's cost per frame (p1s1 boards), measured here and scaled to the ESP32 by ESP32_FACTOR —
  estimated, not measured on a D32.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MP_DIR = ROOT / "tests" / "reader" / "mp"
TELEGRAM_EVERY_S = 10  # the bench's day: one telegram every 10 s of meter time (8640), so it runs in seconds
ESP32_FACTOR = 30  # MicroPython on a 240 MHz ESP32 vs the unix port on a ~3 GHz x86 core: an estimate
S1_FRAMES_PER_S = 2600  # a meter's S1 rate (52 samples per 50 Hz period)


def micropython(script: str, *args, heapsize: int | None = None) -> dict:
    exe = str(Path(sys.executable).parent / "micropython")
    env = dict(os.environ, MICROPYPATH=f"{ROOT / 'firmware'}:{ROOT / 'firmware' / 'lib'}")
    argv = [exe] + (["-X", f"heapsize={heapsize}"] if heapsize else []) + [str(MP_DIR / script), *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def model_day(path: Path) -> int:
    from meter import telegrams as tg
    from meter.model import MeterModel, utc

    model = MeterModel(utc(2024, 11, 4, 23, 0))
    with path.open("wb") as f:
        for _ in range(86400 // TELEGRAM_EVERY_S):
            model.step(400 + 300 * (model.t.hour % 5) + 40 * (model.t.minute % 9), TELEGRAM_EVERY_S)
            f.write(tg.build(model.spec()))
    return 86400 // TELEGRAM_EVERY_S


def s1_stream(path: Path, frames: int) -> None:
    from meter.s1.synth import SynthConfig, synth_stream

    path.write_bytes(synth_stream(SynthConfig(frames=frames, seed=3)))


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "day.txt"
        n = model_day(day)
        for run in ("speed", "heap"):  # each its own flash folder: the register guard remembers the last values
            (Path(tmp) / run).mkdir()
        speed = micropython("bench_core.py", day, 3600 // TELEGRAM_EVERY_S, Path(tmp) / "speed")
        heap = micropython("bench_core.py", day, 3600 // TELEGRAM_EVERY_S, Path(tmp) / "heap",
                           heapsize=100000)["heap"]
        s1 = Path(tmp) / "s1.bin"
        s1_stream(s1, 20000)
        s1_cost = micropython("bench_s1.py", s1)
    rate = speed["telegrams"] * 1000 / speed["ms"]
    drift = max(abs(h - heap[0]) for h in heap[1:])
    us_per_frame = s1_cost["us"] / s1_cost["frames"]
    esp32_share = us_per_frame * ESP32_FACTOR * S1_FRAMES_PER_S / 1e6
    print(f"   reader, per telegram (unix port, unpaced): {rate:.0f} telegrams/s = {rate:.0f} x real time "
          f"(target >= 50), {speed['telegrams']} of {n} telegrams")
    print(f"   heap after each simulated hour (-X heapsize=100000, 64-bit: an upper bound): hour 1 {heap[0]} B, "
          f"hours 2-{len(heap)} within {drift} B of it (target <= 1024); D32 estimate about {heap[0] // 2} B")
    print(f"   S1 counter: {us_per_frame:.1f} us per frame here; x{ESP32_FACTOR} on the ESP32 = "
          f"{us_per_frame * ESP32_FACTOR:.0f} us, {esp32_share:.0%} of a core at {S1_FRAMES_PER_S} frames/s "
          f"(estimated, not measured on a D32)")
    return {"telegrams_per_s": rate, "heap_hour1": heap[0], "heap_drift": drift, "hours": len(heap),
            "s1_us_per_frame": us_per_frame, "meets_target": rate >= 50 and drift <= 1024 and len(heap) == 24}


if __name__ == "__main__":
    sys.exit(0 if main()["meets_target"] else 1)
