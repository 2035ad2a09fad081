"""Pictures only where something changed: the schematic and each board layer exported as SVG by kicad-cli, and
those whose SVG differs rasterised at a fixed DPI by headless Chromium; for each change, crops around it of every
changed picture (before, after, and an overlay: removed red, added green, the rest grey) with the number of
changed pixels. A picture that changed where no change is, or a visible change that left no pixel changed, is
flagged. Rasters are cached by the SVG's hash, the DPI and Chromium's version.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageChops

from .. import kicad_cli, procs, project
from ..fab_cache import tool_version
from . import ReviewError

DPI = 200
NM_PER_PX = 25.4e6 / DPI
BOARD_LAYERS = ("F.Cu", "B.Cu", "F.Silkscreen", "B.Silkscreen", "Edge.Cuts")
SCHEMATIC = "schematic"
MARGIN_NM = 3_000_000  # around a change's box
INK = 128  # a pixel darker than this is drawn
CHANGED = 64  # a grey level difference that counts as a changed pixel (not anti-aliasing)
CHROMIUM = "/usr/bin/chromium"  # Debian's, which setup.sh installs (the same the page's test drives)
# changes that should show in a picture: flagged when none of their crops has a changed pixel
VISIBLE = ("part-added", "part-removed", "renamed", "value", "footprint", "moved", "rotated", "side", "net-rewired",
           "net-merged", "net-split", "outline", "silkscreen", "routing")


def _svg_text(path: Path) -> str:
    """An SVG without its title (which carries the file name and the date)."""
    return re.sub(r"<title>.*?</title>", "", path.read_text(encoding="utf-8"), flags=re.S)


COPPER = tuple(n for n in BOARD_LAYERS if n.endswith(".Cu"))


def export(kicad_dir: Path, out: Path, which: set[str]) -> dict[str, str]:
    """{picture: SVG text} of the schematic and the board layers in `which`, of the project in `kicad_dir`
    (drill holes drawn on the copper layers only: on the others a moved hole would show as a change there)."""
    out.mkdir(parents=True)
    pcb, sch = kicad_dir / f"{project.NAME}.kicad_pcb", kicad_dir / f"{project.NAME}.kicad_sch"

    def board(layers: list[str], drills: str) -> dict[str, str]:
        kicad_cli.run("pcb", "export", "svg", "--layers", ",".join(layers), "--mode-multi", "--exclude-drawing-sheet",
                      "--page-size-mode", "0", "--black-and-white", "--drill-shape-opt", drills, "-o", f"{out}/", pcb)
        return {n: _svg_text(out / f"{project.NAME}-{n.replace('.', '_')}.svg") for n in layers}

    def schematic() -> dict[str, str]:
        kicad_cli.run("sch", "export", "svg", "--exclude-drawing-sheet", "--black-and-white", "-o", out / "sch", sch)
        return {SCHEMATIC: _svg_text(out / "sch" / f"{project.NAME}.svg")}

    copper = [n for n in COPPER if n in which]
    other = [n for n in BOARD_LAYERS if n in which and n not in COPPER]
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(board, copper, "2")] if copper else []
        jobs += [pool.submit(board, other, "0")] if other else []
        jobs += [pool.submit(schematic)] if SCHEMATIC in which else []
        return {name: svg for job in jobs for name, svg in job.result().items()}


def framed(svg: str, frame_mm: tuple[float, float, float, float] | None) -> str:
    """The SVG showing only `frame_mm` (x, y, width, height of the page, mm): the board and a margin, so that
    every layer is small enough to be drawn with the others in one Chromium page. None: the whole page."""
    m = re.search(r'width="([\d.]+)mm" height="([\d.]+)mm" viewBox="[^"]*"', svg)
    if not m:
        raise ReviewError("kicad-cli wrote an SVG without a size in mm")
    x, y, w, h = frame_mm or (0.0, 0.0, float(m.group(1)), float(m.group(2)))
    return svg[:m.start()] + f'width="{w:.4f}mm" height="{h:.4f}mm" viewBox="{x:.4f} {y:.4f} {w:.4f} {h:.4f}"' \
        + svg[m.end():]


def _size_px(svg: str) -> tuple[int, int]:
    m = re.search(r'width="([\d.]+)mm" height="([\d.]+)mm"', svg)
    return round(float(m.group(1)) / 25.4 * DPI), round(float(m.group(2)) / 25.4 * DPI)


def _key(svg: str) -> str:
    return hashlib.sha256(f"{DPI} {tool_version(CHROMIUM)}\n{svg}".encode()).hexdigest()[:32]


def rasters(svgs: list[str], tmp: Path, cache: Path | None) -> list[Image.Image]:
    """Each SVG drawn at DPI as a greyscale image: those not cached, stacked in one page for one headless Chromium
    screenshot, then cut apart."""
    todo = sorted({svg for svg in svgs if not (cache and (cache / f"raster-{_key(svg)}.png").is_file())})
    if todo:
        if not Path(CHROMIUM).is_file():
            raise ReviewError(f"{CHROMIUM} missing: run `make setup` (or review with --no-pictures)")
        for svg, image in zip(todo, _screenshot(todo, tmp)):
            if cache is None:
                cache = tmp / "rasters"
            cache.mkdir(parents=True, exist_ok=True)
            image.save(cache / f"raster-{_key(svg)}.png")
    return [Image.open(cache / f"raster-{_key(svg)}.png").convert("L") for svg in svgs]


def _screenshot(svgs: list[str], tmp: Path) -> list[Image.Image]:
    work = Path(tempfile_dir(tmp))
    sizes = [_size_px(svg) for svg in svgs]
    tags = []
    for i, (svg, (w, h)) in enumerate(zip(svgs, sizes)):
        (work / f"{i}.svg").write_text(svg, encoding="utf-8")
        tags.append(f'<img src="{i}.svg" style="display:block;width:{w}px;height:{h}px">')
    (work / "p.html").write_text('<!DOCTYPE html><html><body style="margin:0;background:#fff">' + "".join(tags)
                                 + "</body></html>", encoding="utf-8")
    width, height = max(w for w, _ in sizes), sum(h for _, h in sizes)
    png = work / "p.png"
    procs.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--force-device-scale-factor=1", f"--user-data-dir={work / 'profile'}", f"--screenshot={png}",
               f"--window-size={width},{height}", (work / "p.html").as_uri()], capture_output=True, text=True)
    if not png.is_file():
        raise ReviewError("headless Chromium wrote no screenshot of the SVGs (is `make setup` complete?)")
    page, out, top = Image.open(png).convert("L"), [], 0
    for w, h in sizes:
        out.append(page.crop((0, top, w, top + h)))
        top += h
    return out


def tempfile_dir(tmp: Path) -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(dir=tmp))


def _same_size(a: Image.Image, b: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Both on one canvas (a page that changed size): the page's origin is the same corner."""
    size = (max(a.width, b.width), max(a.height, b.height))
    out = []
    for im in (a, b):
        canvas = Image.new("L", size, 255)
        canvas.paste(im, (0, 0))
        out.append(canvas)
    return out[0], out[1]


def changed_mask(a: Image.Image, b: Image.Image) -> Image.Image:
    return ImageChops.difference(a, b).point(lambda d: 255 if d > CHANGED else 0)


def overlay(a: Image.Image, b: Image.Image) -> Image.Image:
    """Removed ink red, added ink green, ink on both grey, paper white."""
    ink_a, ink_b = a.point(lambda v: 255 if v < INK else 0), b.point(lambda v: 255 if v < INK else 0)
    both = ImageChops.multiply(ink_a, ink_b)
    gone, came = ImageChops.subtract(ink_a, ink_b), ImageChops.subtract(ink_b, ink_a)
    out = Image.new("RGB", a.size, (255, 255, 255))
    out.paste((170, 170, 170), mask=both)
    out.paste((220, 30, 30), mask=gone)
    out.paste((20, 160, 40), mask=came)
    return out


def count(mask: Image.Image, box=None) -> int:
    region = mask.crop(box) if box else mask
    return region.histogram()[255]


# --- where each change is ------------------------------------------------------------------------------------

def _bbox(points) -> list[int] | None:
    points = list(points)
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return [min(xs), min(ys), max(xs), max(ys)]


def _refs(change: dict) -> set[str]:
    """The parts a change is about: its own, or those with pins it names (a net change)."""
    refs = {change["ref"]} if change.get("ref") else set()
    if change["kind"] == "renamed":
        refs.add(change["before"])
    names = [m["pin"] for m in change.get("moves", [])]
    for side in ("before", "after"):
        v = change.get(side)
        names += [x for x in v if isinstance(x, str)] if isinstance(v, list) else []
    return refs | {n.partition(".")[0] for n in names if "." in n}


def _net_points(board: dict, net: str) -> list:
    return [p for t in board["tracks"].get(net, []) for p in (t[1:3], t[3:5])] + \
        [v[:2] for v in board["vias"].get(net, [])]


def _items_points(items) -> list:
    """Coordinates inside outline/keep-out/silkscreen items (lists of numbers, pairs taken in order)."""
    points = []
    for item in items or []:
        numbers = [v for v in _flat(item) if isinstance(v, int) and not isinstance(v, bool)]
        points += [numbers[i:i + 2] for i in range(0, len(numbers) - 1, 2)]
    return points


def _flat(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _flat(v)
    elif isinstance(x, list):
        for v in x:
            yield from _flat(v)
    else:
        yield x


def regions(change: dict, before: dict, after: dict, routing: list) -> dict[str, list[int] | None]:
    """{"board": box, "schematic": box} in nm around a change (and the routing it caused), None where it is not."""
    board_pts, sch_pts = [], []
    for model in (before, after):
        for ref in _refs(change):
            fp = model["board"]["footprints"].get(ref)
            if fp:
                board_pts += [fp["box"][:2], fp["box"][2:]]
            sym = model["schematic"]["symbols"].get(ref)
            if sym:
                sch_pts += [sym["box"][:2], sym["box"][2:]]
        nets = [change["net"]] if change.get("net") else []
        nets += [r["net"] for r in routing if r["caused_by"] == change["id"]]
        for net in nets:
            board_pts += _net_points(model["board"], net)
    if change["kind"] in ("outline", "keepout", "silkscreen", "holes"):
        board_pts += _items_points([change["before"], change["after"]])
    return {"board": _grow(_bbox(board_pts)), SCHEMATIC: _grow(_bbox(sch_pts))}


def _grow(box):
    if box is None:
        return None
    return [box[0] - MARGIN_NM, box[1] - MARGIN_NM, box[2] + MARGIN_NM, box[3] + MARGIN_NM]


def _px(box, origin_mm) -> tuple[int, int, int, int]:
    """A box in nm of the page as pixels of a picture whose top-left corner is `origin_mm` of the page."""
    ox, oy = origin_mm
    return tuple(round((v - (ox if i % 2 == 0 else oy) * 1e6) / NM_PER_PX) for i, v in enumerate(box))


# --- the crops -----------------------------------------------------------------------------------------------

def crops(sides: tuple[Path, Path], models: tuple[dict, dict], changes: list, routing: list, out: Path,
          cache: Path | None) -> dict:
    """{"layers": {picture: state}, "crops": [{change, views}], "flags": {what: why}}; PNGs written into `out`
    (a folder of the review's own, emptied first)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    frame = board_frame(*models)
    same = lambda suffix: _same_file([side / f"{project.NAME}.{suffix}" for side in sides])
    which = ({SCHEMATIC} if not same("kicad_sch") else set()) | (set(BOARD_LAYERS) if not same("kicad_pcb") else set())
    with procs.temp_dir("pictures") as tmp:
        svgs = export(sides[0], tmp / "before", which), export(sides[1], tmp / "after", which)
        changed = [n for n in (SCHEMATIC, *BOARD_LAYERS) if n in which and svgs[0][n] != svgs[1][n]]
        framed_svgs = [framed(svgs[i][n], None if n == SCHEMATIC else frame) for n in changed for i in (0, 1)]
        drawn = rasters(framed_svgs, tmp, cache)
    layers, images = {n: "unchanged" for n in (SCHEMATIC, *BOARD_LAYERS) if n not in changed}, {}
    for i, name in enumerate(changed):
        a, b = _same_size(drawn[2 * i], drawn[2 * i + 1])
        mask = changed_mask(a, b)
        n = count(mask)
        layers[name] = f"changed: {n} pixels" if n else "the SVG differs, no pixel changed"
        if n:
            images[name] = (a, b, mask, (0, 0) if name == SCHEMATIC else frame[:2])
    covered = {name: Image.new("L", im[2].size, 0) for name, im in images.items()}
    found = []
    for change in changes:
        views = _views(change, regions(change, *models, routing), images, covered, out)
        if views:
            found.append({"change": change["id"], "views": views})
    return {"layers": layers, "crops": found, "flags": _flags(changes, found, images, covered)}


def _same_file(paths) -> bool:
    a, b = paths
    return a.read_bytes() == b.read_bytes()


def board_frame(before: dict, after: dict) -> tuple[float, float, float, float]:
    """(x, y, width, height) in mm of the page: both sides' boards and a margin."""
    points = []
    for model in (before, after):
        points += _items_points(model["board"]["outline"])
        points += [p for fp in model["board"]["footprints"].values() for p in (fp["box"][:2], fp["box"][2:])]
    x0, y0, x1, y1 = _grow(_bbox(points) or [0, 0, 100_000_000, 100_000_000])
    return x0 / 1e6, y0 / 1e6, (x1 - x0) / 1e6, (y1 - y0) / 1e6


def _views(change, where, images, covered, out: Path) -> list[dict]:
    views = []
    for name, (a, b, mask, origin) in images.items():
        box = where[SCHEMATIC if name == SCHEMATIC else "board"]
        if box is None:
            continue
        x0, y0, x1, y1 = _px(box, origin)
        px = (max(0, x0), max(0, y0), min(a.width, x1), min(a.height, y1))
        if px[0] >= px[2] or px[1] >= px[3]:
            continue
        covered[name].paste(255, px)
        n = count(mask, px)
        if n == 0:
            continue
        stem = f"{change['id']}-{name.replace('.', '_')}"
        files = {"before": a.crop(px), "after": b.crop(px), "overlay": overlay(a.crop(px), b.crop(px))}
        for kind, image in files.items():
            image.save(out / f"{stem}-{kind}.png")
        views.append({"layer": name, "changed_pixels": n, "box_px": list(px),
                      **{kind: f"pictures/{out.name}/{stem}-{kind}.png" for kind in files}})
    return views


def _flags(changes, found, images, covered) -> dict[str, str]:
    flags = {}
    for name, (_, _, mask, _) in images.items():
        outside = count(ImageChops.subtract(mask, covered[name]))
        if outside:
            flags[name] = f"picture changed with no semantic change: {outside} changed pixels outside every change"
    shown = {c["change"] for c in found}
    for c in changes:
        if c["kind"] in VISIBLE and c["id"] not in shown:
            flags[f"{c['id']} {c['kind']} {c.get('ref') or c.get('net') or ''}".strip()] = \
                "semantic change with no picture change"
    return flags
