"""S1 port rules (the p1s1 variant): termination, the receiver's supply, its output pin."""

from __future__ import annotations

from .base import Rule, Result, _net_parts, _pins


def s1_termination(board, facts, top):
    """The reader terminates the RS-422 pair: one resistor across the receiver's A/B matching the cable."""
    s1 = facts["s1_port"]
    a, b = board.net_of("J4", 5), board.net_of("J4", 4)
    across = sorted(ref for ref in _net_parts(board, a) & _net_parts(board, b) if ref.startswith("R"))
    ohms = [board.value(ref) for ref in across]
    ok = len(ohms) == 1 and s1["termination_min_ohm"] <= ohms[0] <= s1["termination_max_ohm"]
    figure = ", ".join(f"{ref} {board.parts[ref].value}" for ref in across) or "no resistor across A/B"
    return [Result("s1-termination", ohms[0] if len(ohms) == 1 else None, "Ohm", s1["termination_min_ohm"],
                   s1["termination_max_ohm"], {}, ok, "termination across pins 5/4", f"J4, U3: {figure}")]

def s1_receiver_supply(board, facts, top):
    """The RS-422 receiver runs from the 3.3 V rail, so its output suits the ESP32's input directly."""
    supply = board.net_of("U3", 1)
    return [Result("s1-receiver-supply", None, "", None, None, {}, supply == top.rail, "receiver supply",
                   f"U3 VCC on {supply}", "" if supply == top.rail else f"must be on {top.rail} (ESP32 levels)")]

def s1_rx_pin(board, facts, top):
    """The receiver output must reach a D32 pin that is a plain input at boot, not a strapping pin."""
    s1 = facts["s1_port"]
    pins = [num for ref, num in _pins(board, board.net_of("U3", 2)) if ref == "M1"]
    names = [board.parts["M1"][num].name for num in pins]
    ok = len(names) == 1 and names[0] not in s1["strapping_pins"]
    return [Result("s1-rx-pin", None, "", None, None, {}, ok, "receiver output pin",
                   f"U3 RO → {', '.join(names) or 'not on the D32'}",
                   "" if ok else f"one pin, none of {', '.join(s1['strapping_pins'])}")]


RULES = [
    Rule("s1-termination", s1_termination, s1_only=True),
    Rule("s1-receiver-supply", s1_receiver_supply, s1_only=True),
    Rule("s1-rx-pin", s1_rx_pin, s1_only=True),
]
