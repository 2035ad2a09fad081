"""The signal-integrity limits, in one place, each with the reason it is where it is.

Timing limits are in % of a bit so the same table judges every baud rate; electrical limits come from the
P1 facts in parts.toml (DSMR), so they cannot drift from what `hwtools.rules` checks statically.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..facts import limit_text, load_facts

BAUD = 115200          # DSMR P1 5.0: fixed


@dataclass(frozen=True)
class Limit:
    key: str
    unit: str
    low: float | None
    high: float | None
    why: str

    def ok(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def headroom(self, value: float) -> float:
        """How far inside a one-sided limit `value` lies, as a fraction of the limit (< 0: outside it)."""
        return (self.high - value) / self.high if self.high is not None else (value - self.low) / self.low

    def text(self) -> str:
        return limit_text(self.low, self.high, self.unit)


# Timing: judged at any baud rate (the bit time scales them).
TIMING = {
    "distortion_pct": Limit("distortion_pct", "% of a bit", None, 10.0,
                            "the UART samples mid-bit; what pulse-width distortion leaves of the ±50 % must still "
                            "cover clock mismatch accumulated over a 10-bit frame, so edges may take ≤ 10 %"),
    "sample_margin_pct": Limit("sample_margin_pct", "% of a bit", 25.0, None,
                               "each mid-bit sample must lie ≥ 25 % of a bit inside the valid level: room for "
                               "±2 % meter/ESP32 clock mismatch over 9.5 bits (19 %) plus 1/16-bit start detection"),
    "eye_margin_v": Limit("eye_margin_v", "V", 0.2, None,
                          "RX must be ≥ 0.2 V beyond VIH/VIL at the sample point: noise margin for Wi-Fi burst "
                          "currents in the shared ground (≈ 6 % of 3.3 V)"),
    "edge_pct": Limit("edge_pct", "% of a bit", None, 10.0,
                      "10-90 % rise/fall ≤ 10 % of a bit: a slow edge lingers between VIL and VIH, where the "
                      "ESP32 input is undefined and noise makes extra edges"),
}


def electrical(facts: dict | None = None) -> dict:
    p1 = (facts or load_facts())["p1_port"]
    return {
        "line_ma": Limit("line_ma", "mA", None, p1["data_sink_max_ma"],
                         "DSMR P1: the reader may let at most 5 mA flow into the meter's data output"),
        "drq_volts": Limit("drq_volts", "V", p1["drq_high_min_v"], p1["drq_high_max_v"],
                           "DSMR P1: Data Request is HIGH at 4.0-5.5 V"),
        "drq_ma": Limit("drq_ma", "mA", p1["drq_current_min_ma"], p1["drq_current_max_ma"],
                        "DSMR P1: the meter's Data Request input draws 4-10 mA"),
    }


MAX_BAUD = Limit("max_baud", "Bd", BAUD, None,
                 "the P1 rate must pass with margin; the goal (reported, not enforced) is 4 × 115200 = 460800")
