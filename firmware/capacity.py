"""The Belgian capacity tariff on the device: the running quarter, its projection, the month peak, the billed
average, the headroom and the alert. Runs unchanged under CPython and MicroPython; integers only (W, Wh, s).

Quarters are fixed to the meter's local clock (:00, :15, :30, :45). Belgian local time is UTC+1 or UTC+2, whole
hours, so a local quarter starts where the UTC seconds are a multiple of 900 and the clock's S/W flag only matters
for reading the time (mtime). What `1-0:1.4.0` holds could not be read from the Fluvius P1 specification here:
both readings are implemented behind READING (firmware/README.md, "The capacity tariff").
"""

ENERGY_OVER_QUARTER = "energy/900s"  # 1.4.0 = import since the quarter's start ÷ 900 s: rises to the final value
ELAPSED_AVERAGE = "energy/elapsed"  # 1.4.0 = import energy since the quarter's start ÷ the seconds elapsed
READING = ENERGY_OVER_QUARTER  # what public decoders report; the tests run both
QUARTER_S = 900
MIN_PEAK_W = 2500  # each month counts at no less than 2.5 kW on the bill
ALERT_MARGIN_S = 120  # an alert this long before the quarter's end leaves time to act; later it is `late`


def average_w(energy_wh, elapsed_s, reading=READING):
    """The running quarter's average (W) after `energy_wh` imported in `elapsed_s` seconds of it."""
    if reading == ELAPSED_AVERAGE:
        return energy_wh * 3600 // elapsed_s if elapsed_s > 0 else 0
    return energy_wh * 3600 // QUARTER_S


def billed_average_w(month_peaks_w):
    """The billed 12-month average (W): the last 12 month peaks, each floored at 2.5 kW."""
    peaks = month_peaks_w[-12:]
    return sum(max(p, MIN_PEAK_W) for p in peaks) // len(peaks) if peaks else MIN_PEAK_W


class Quarter:
    """The running quarter from one telegram to the next: feed(t, import_wh, power_w) with t in UTC seconds."""

    def __init__(self, cap_w=0, reading=READING):
        self.cap_w = cap_w
        self.reading = reading
        self.start = None  # UTC seconds of the running quarter's start
        self.start_wh = 0  # the import register when it started (first telegram in the quarter)
        self.month_peak_w = 0  # from the meter's 1-0:1.6.0
        self.alert = None  # None, or {"at": t, "late": bool, "projected_w": …} for this quarter
        self.closed = None  # the quarter that just ended: (start, end, average W, import Wh), once

    def feed(self, t, import_wh, power_w, month_peak_w=None):
        if month_peak_w is not None:
            self.month_peak_w = month_peak_w
        start = t - t % QUARTER_S
        if start != self.start:
            self._roll(start, t, import_wh)
        self.t, self.wh, self.power_w = t, import_wh, power_w
        self._check_alert()

    def _roll(self, start, t, import_wh):
        if self.start is not None and start == self.start + QUARTER_S:  # a quarter seen to its end: close it
            energy = import_wh - self.start_wh
            self.closed = (self.start, start, average_w(energy, QUARTER_S, self.reading), energy)
        self.start, self.start_wh, self.alert = start, import_wh, None

    def take_closed(self):
        closed, self.closed = self.closed, None
        return closed

    def threshold_w(self):
        """T: what the quarter must stay under — 2.5 kW, this month's peak or the configured cap, the highest."""
        return max(MIN_PEAK_W, self.month_peak_w, self.cap_w)

    def state(self):
        """The published figures (W, s): average so far, projected quarter end, headroom, time left, T."""
        elapsed = self.t - self.start
        t_left = QUARTER_S - elapsed
        energy = self.wh - self.start_wh
        projected = (energy * 3600 + self.power_w * t_left) // QUARTER_S
        threshold = self.threshold_w()
        headroom = max(0, (threshold - projected) * QUARTER_S // t_left) if t_left > 0 else 0
        return {"average_w": average_w(energy, elapsed, self.reading), "projected_w": projected,
                "headroom_w": headroom, "t_left_s": t_left, "threshold_w": threshold, "quarter_start": self.start}

    def _check_alert(self):
        if self.alert is not None:
            return
        s = self.state()
        if s["projected_w"] > s["threshold_w"]:
            self.alert = {"at": self.t, "late": s["t_left_s"] < ALERT_MARGIN_S, "projected_w": s["projected_w"],
                          "threshold_w": s["threshold_w"], "quarter_start": self.start}
