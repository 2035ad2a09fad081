"""The typed change list between two models of one variant (hwtools/review/model.py).

Parts are matched by reference; a removed and an added part alike in footprint, value, fields and nets are one
`renamed`. Nets are matched by name, then by pin set (`net-renamed`), then by containment (`net-merged`,
`net-split`), then by the largest shared pin set (`net-rewired`, which names each pin that moved and between
which nets). Routing (a net's tracks, vias, pour) is a consequence: listed under the change that caused it
(`caused_by`), and a change of its own (`routing`) only when nothing else changed on the board. Everything is
compared as sorted data, so a file with its items reordered, or the same design regenerated, gives no change.
"""

from __future__ import annotations

import math

NM_PER_MM = 1_000_000
# the changes that can move copper: a routing change elsewhere is put under the nearest of them
PHYSICAL = ("part-added", "part-removed", "renamed", "footprint", "moved", "rotated", "side", "holes",
            "net-renamed", "net-rewired", "net-merged", "net-split", "net-added", "net-removed", "outline",
            "keepout")
KINDS = ("part-added", "part-removed", "renamed", "value", "footprint", "field", "moved", "rotated", "side",
         "net-added", "net-removed", "net-renamed", "net-rewired", "net-merged", "net-split", "outline", "holes",
         "keepout", "silkscreen", "routing")


def mm(nm: int | float) -> float:
    return round(nm / NM_PER_MM, 4)


def changes(before: dict, after: dict, variant: str) -> tuple[list[dict], list[dict]]:
    """(changes, routing consequences) from `before` to `after`; every consequence names its cause's id."""
    found: list[dict] = []
    renames = _parts(before, after, found)
    _nets(before, after, renames, found)
    _board(before["board"], after["board"], renames, found)
    for i, c in enumerate(found, 1):
        c["id"] = f"{variant}-{i}"
        c["variant"] = variant
    consequences = _routing(before, after, renames, found, variant)
    return found, consequences


# --- parts -------------------------------------------------------------------------------------------------

def _signature(part: dict) -> tuple:
    return (part["footprint"], part["value"], sorted(part["fields"].items()), sorted(part["pins"].items(),
                                                                                  key=str))


def _parts(before: dict, after: dict, found: list) -> dict[str, str]:
    """Part changes into `found`; returns {old ref: new ref} of the renamed parts."""
    old, new = before["parts"], after["parts"]
    removed = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    renames = {}
    for ref in removed:
        twin = [a for a in added if a not in renames.values() and _signature(new[a]) == _signature(old[ref])]
        if twin:
            renames[ref] = twin[0]
            found.append({"kind": "renamed", "ref": twin[0], "before": ref, "after": twin[0]})
    for ref in removed:
        if ref not in renames:
            found.append({"kind": "part-removed", "ref": ref, "before": _summary(old[ref]), "after": None})
    for ref in added:
        if ref not in renames.values():
            found.append({"kind": "part-added", "ref": ref, "before": None, "after": _summary(new[ref])})
    for ref in sorted(set(old) & set(new)):
        a, b = old[ref], new[ref]
        for kind in ("value", "footprint"):
            if a[kind] != b[kind]:
                found.append({"kind": kind, "ref": ref, "before": a[kind], "after": b[kind]})
        for name in sorted(set(a["fields"]) | set(b["fields"])):
            if a["fields"].get(name) != b["fields"].get(name):
                found.append({"kind": "field", "ref": ref, "field": name, "before": a["fields"].get(name),
                              "after": b["fields"].get(name)})
    return renames


def _summary(part: dict) -> dict:
    return {"value": part["value"], "footprint": part["footprint"], "pins": part["pins"]}


# --- nets --------------------------------------------------------------------------------------------------

def _nets(before: dict, after: dict, renames: dict, found: list):
    """Net changes into `found`. Pins of renamed parts are compared under their new reference."""
    def renamed(pin: str) -> str:
        ref, _, number = pin.partition(".")
        return f"{renames.get(ref, ref)}.{number}"

    gone = {r for r in before["parts"] if r not in renames and r not in after["parts"]}
    new_refs = {r for r in after["parts"] if r not in before["parts"] and r not in renames.values()}
    # only the pins of parts on both sides say how nets changed; an added or removed part's pins are its own change
    old = {n: frozenset(renamed(p) for p in pins if p.partition(".")[0] not in gone) for n, pins in before["nets"].items()}
    new = {n: frozenset(p for p in pins if p.partition(".")[0] not in new_refs) for n, pins in after["nets"].items()}
    pairs = {n: n for n in set(old) & set(new)}
    only_old = sorted(set(old) - set(new))
    only_new = sorted(set(new) - set(old))
    for o in list(only_old):  # same pins, new name
        twin = [n for n in only_new if new[n] == old[o] and old[o]]
        if twin:
            found.append({"kind": "net-renamed", "net": twin[0], "before": o, "after": twin[0]})
            pairs[o] = twin[0]
            only_old.remove(o)
            only_new.remove(twin[0])
    _merges(old, new, pairs, only_old, only_new, found)
    for o in list(only_old):  # the rest: matched by the largest shared pin set
        best = max(only_new, key=lambda n: (len(old[o] & new[n]), n), default=None)
        if best is not None and old[o] & new[best]:
            pairs[o] = best
            only_old.remove(o)
            only_new.remove(best)
    for o, n in sorted(pairs.items()):
        if old[o] != new[n]:
            found.append({"kind": "net-rewired", "net": n, "before": sorted(old[o]), "after": sorted(new[n]),
                          **({"renamed_from": o} if o != n else {})})
    for o in only_old:
        found.append({"kind": "net-removed", "net": o, "before": sorted(before["nets"][o]), "after": None})
    for n in only_new:
        found.append({"kind": "net-added", "net": n, "before": None, "after": sorted(after["nets"][n])})
    _attach_moves(old, new, pairs, found)


def _attach_moves(old: dict, new: dict, pairs: dict, found: list):
    """Each net change gets the pins that moved into or out of it: {pin, from, to} (None: not connected)."""
    then = {pin: net for net, pins in old.items() for pin in pins}
    now = {pin: net for net, pins in new.items() for pin in pins}
    moves = [{"pin": p, "from": then.get(p), "to": now.get(p)} for p in sorted(then.keys() | now.keys())
             if pairs.get(then.get(p), then.get(p)) != now.get(p)]
    for c in found:
        if not c["kind"].startswith("net-"):
            continue
        leaving = {c.get("renamed_from", c["net"])} | set(c["before"] if c["kind"] == "net-merged" else [])
        c["moves"] = [m for m in moves if m["to"] == c["net"] or m["from"] in leaving
                      or (c["kind"] == "net-split" and m["from"] == c["net"])]


def _merges(old, new, pairs, only_old, only_new, found):
    """Two or more nets whose pins now all sit on one net (merged), or the reverse (split)."""
    for n in sorted(new):
        parts = [o for o in old if old[o] and old[o] <= new[n]]
        if len(parts) > 1 and any(o in only_old for o in parts):
            found.append({"kind": "net-merged", "net": n, "before": sorted(parts), "after": n})
            for o in parts:
                pairs.pop(o, None)
                if o in only_old:
                    only_old.remove(o)
            pairs.pop(n, None)
            if n in only_new:
                only_new.remove(n)
    for o in sorted(old):
        parts = [n for n in new if new[n] and new[n] <= old[o]]
        if len(parts) > 1 and any(n in only_new for n in parts):
            found.append({"kind": "net-split", "net": o, "before": o, "after": sorted(parts)})
            for n in parts:
                if n in only_new:
                    only_new.remove(n)
            pairs.pop(o, None)
            if o in only_old:
                only_old.remove(o)


# --- the board ---------------------------------------------------------------------------------------------

def _board(old: dict, new: dict, renames: dict, found: list):
    fps_old = {renames.get(r, r): fp for r, fp in old["footprints"].items()}
    fps_new = new["footprints"]
    for ref in sorted(set(fps_old) & set(fps_new)):
        a, b = fps_old[ref], fps_new[ref]
        if a["side"] != b["side"]:
            found.append({"kind": "side", "ref": ref, "before": a["side"], "after": b["side"]})
        if a["at"] != b["at"]:
            dx, dy = (mm(q - p) for p, q in zip(a["at"], b["at"]))
            found.append({"kind": "moved", "ref": ref, "before": [mm(v) for v in a["at"]],
                          "after": [mm(v) for v in b["at"]], "dx_mm": dx, "dy_mm": dy})
        if a["rotation"] != b["rotation"]:
            turn = round((b["rotation"] - a["rotation"] + 180) % 360 - 180, 3)
            found.append({"kind": "rotated", "ref": ref, "before": a["rotation"], "after": b["rotation"],
                          "dtheta_deg": turn})
        if a["footprint"] == b["footprint"] and _holes(a) != _holes(b) and a["at"] == b["at"]:
            found.append({"kind": "holes", "ref": ref, "before": _holes(a), "after": _holes(b)})
    for kind, key in (("outline", "outline"), ("keepout", "keepouts"), ("silkscreen", "silkscreen")):
        gone = [x for x in old[key] if x not in new[key]]
        came = [x for x in new[key] if x not in old[key]]
        if gone or came:
            found.append({"kind": kind, "net": None, "before": gone, "after": came})


def _holes(fp: dict) -> list:
    return sorted([p["at"], p["drill"]] for p in fp["pads"].values() if p["npth"])


# --- routing: consequences under their cause ---------------------------------------------------------------

def route_figures(board: dict, net: str) -> dict:
    tracks = board["tracks"].get(net, [])
    length = sum(math.dist(t[1:3], t[3:5]) for t in tracks)
    return {"length_mm": round(length / NM_PER_MM, 3), "segments": len(tracks),
            "vias": len(board["vias"].get(net, [])),
            "pour_mm2": round(sum(z["filled_mm2"] for z in board["zones"] if z["net"] == net), 1)}


def _routing(before: dict, after: dict, renames: dict, found: list, variant: str) -> list[dict]:
    old_b, new_b = before["board"], after["board"]
    net_map = {c["before"]: c["after"] for c in found if c["kind"] == "net-renamed"}
    net_map |= {c["renamed_from"]: c["net"] for c in found if c.get("renamed_from")}
    nets = set(old_b["tracks"]) | set(old_b["vias"]) | set(new_b["tracks"]) | set(new_b["vias"])
    nets |= {z["net"] for z in old_b["zones"] + new_b["zones"]}
    out, own = [], []
    for net in sorted(n for n in nets if n):
        new_name = net_map.get(net, net)
        if new_name != net and net in new_b["tracks"]:
            continue  # compared under its new name
        routed = lambda b, n: (b["tracks"].get(n, []), b["vias"].get(n, []),
                               [z for z in b["zones"] if z["net"] == n])
        if routed(old_b, net) == routed(new_b, new_name):
            continue
        entry = {"net": new_name, "before": route_figures(old_b, net), "after": route_figures(new_b, new_name)}
        cause = _cause(new_name, net, before, after, renames, found)
        if cause is None:
            own.append(entry)
        else:
            out.append({**entry, "caused_by": cause})
    for entry in own:
        found.append({"kind": "routing", "net": entry["net"], "before": entry["before"], "after": entry["after"],
                      "id": f"{variant}-{len(found) + 1}", "variant": variant})
    return out


def _cause(net: str, old_net: str, before: dict, after: dict, renames: dict, found: list) -> str | None:
    """The id of the change that explains a routing change on `net`: one touching the net, else the nearest
    change that moved copper anywhere (the router reroutes around it), else None."""
    physical = [c for c in found if c["kind"] in PHYSICAL]
    for c in physical:
        if net in _nets_of(c, before, after, renames) or old_net in _nets_of(c, before, after, renames):
            return c["id"]
    if not physical:
        return None
    where = _net_centre(after["board"], net) or _net_centre(before["board"], old_net)
    return min(physical, key=lambda c: _distance(c, where, before, after))["id"]


def _nets_of(c: dict, before: dict, after: dict, renames: dict) -> set[str]:
    if c["kind"].startswith("net-"):
        names = {c["net"]}
        for side in ("before", "after"):
            v = c[side]
            names |= {v} if isinstance(v, str) and not v.count(".") else set()
            names |= {x for x in v if isinstance(x, str) and "." not in x} if isinstance(v, list) else set()
        names |= {c.get("renamed_from")} - {None}
        return names
    ref = c.get("ref")
    if not ref:
        return set()
    old_ref = next((o for o, n in renames.items() if n == ref), ref)
    pins = list(before["parts"].get(old_ref, {}).get("pins", {}).values())
    pins += list(after["parts"].get(ref, {}).get("pins", {}).values())
    return {p for p in pins if p}


def _net_centre(board: dict, net: str):
    pts = [t[1:3] for t in board["tracks"].get(net, [])] + [v[:2] for v in board["vias"].get(net, [])]
    return [sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)] if pts else None


def _distance(c: dict, where, before: dict, after: dict) -> float:
    if where is None:
        return 0.0
    fp = after["board"]["footprints"].get(c.get("ref")) or before["board"]["footprints"].get(c.get("ref"))
    return math.dist(fp["at"], where) if fp else math.inf
