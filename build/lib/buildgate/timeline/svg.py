"""The timeline chart as SVG: one row per criterion, each run of equal verdicts one segment.

Laid out for 1,200 px: commits spread evenly along the x axis (a commit axis below, a date axis
above), each change of verdict labelled with its short commit id, the ``--closed-at`` commit as
a dashed line, the verdict now at the right, a legend, and a hover title on every segment
(verdict, commits, dates, message). Runs too narrow to see are merged into one "changing"
segment until the file is under 100 KB. Hand-written: a few dozen SVG elements need no library.
"""
from __future__ import annotations

import datetime as _dt
from html import escape

from buildgate.timeline.engine import Timeline

WIDTH = 1200
MAX_BYTES = 100_000
COLOUR = {"pass": "#2da44e", "fail": "#cf222e", "error": "#bf8700", "mixed": "url(#mixed)"}
LABEL = {"pass": "holds", "fail": "fails", "error": "can't decide", "mixed": "changing often"}
_LEFT, _RIGHT, _TOP, _ROW = 64, 78, 66, 30
_SANS = "DejaVu Sans, Verdana, Arial, sans-serif"
_MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_SHA_W = 40  # width of a 7-character short id at 9 px


def _text_width(text: str, size: int = 11) -> int:
    """About how wide ``text`` is in the sans font at ``size`` px (DejaVu Sans averages 0.6 em)."""
    return int(len(text) * size * 0.6) + 1


def _date(ts: int, fmt: str = "%Y-%m-%d") -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime(fmt)


def _runs(tl: Timeline, cid: str) -> list[tuple[int, int, str]]:
    """``(first, last, verdict)`` commit index ranges of equal verdicts."""
    out: list[tuple[int, int, str]] = []
    for i, c in enumerate(tl.commits):
        v = tl.outcomes[c.sha][cid].verdict
        if out and out[-1][2] == v:
            out[-1] = (out[-1][0], i, v)
        else:
            out.append((i, i, v))
    return out


def _merge_narrow(runs: list[tuple[int, int, str]], step: float, min_px: float) -> list[tuple[int, int, str]]:
    """Runs narrower than ``min_px`` merged with their narrow neighbours into ``mixed`` runs."""
    if min_px <= 0:
        return runs
    out: list[tuple[int, int, str]] = []
    for a, b, v in runs:
        narrow = (b - a + 1) * step < min_px
        if narrow and out and (out[-1][2] == "mixed" or (out[-1][1] - out[-1][0] + 1) * step < min_px):
            out[-1] = (out[-1][0], b, "mixed" if out[-1][2] != v or out[-1][2] == "mixed" else v)
        else:
            out.append((a, b, v))
    return out


def svg(tl: Timeline, closed_at: str | None = None, width: int = WIDTH) -> str:
    """The chart; runs too narrow to see are merged until it is under :data:`MAX_BYTES`."""
    min_px = 0.0
    while True:
        text = _draw(tl, closed_at, width, min_px)
        if len(text.encode()) <= MAX_BYTES or min_px > width:
            return text
        min_px = max(2.0, min_px * 2)


def _draw(tl: Timeline, closed_at: str | None, width: int, min_px: float) -> str:
    n = len(tl.commits)
    x0, x1 = _LEFT, width - _RIGHT
    step = (x1 - x0) / n
    rows_bottom = _TOP + _ROW * len(tl.criteria)
    height = rows_bottom + 84
    index = {c.sha: i for i, c in enumerate(tl.commits)}

    def x(i: float) -> float:
        return round(x0 + i * step, 1)

    first, last = tl.commits[0], tl.commits[-1]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{_SANS}" font-size="11">',
           f"<title>buildgate history: {n} commits, {_date(first.timestamp)} to {_date(last.timestamp)}</title>",
           '<defs><pattern id="mixed" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
           '<rect width="4" height="4" fill="#8c959f"/><rect width="2" height="4" fill="#d0d7de"/></pattern></defs>',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{x0}" y="16" font-size="13" font-weight="bold">Repository criteria over {n} commits '
           f'({first.sha[:7]} {_date(first.timestamp)} to {last.sha[:7]} {_date(last.timestamp)}, oldest left)</text>']

    # date axis (above the rows): a tick at the first commit of a day, when there is room
    out.append(f'<g class="date-axis" font-size="10" fill="#57606a"><text x="4" y="{_TOP - 18}">date</text>')
    last_x, seen_day = -1e9, None
    newest = 0
    for i, c in enumerate(tl.commits):
        newest = max(newest, c.timestamp)
        d = _date(newest)
        if d != seen_day:
            seen_day = d
            if x(i) - last_x >= 62 and x(i) + 30 <= x1 + 30:
                label = _date(newest, "%b %d") if last_x > 0 else _date(newest, "%Y-%m-%d")
                out.append(f'<line x1="{x(i)}" y1="{_TOP - 14}" x2="{x(i)}" y2="{_TOP - 4}" stroke="#8c959f"/>'
                           f'<text x="{x(i) + 2}" y="{_TOP - 18}">{label}</text>')
                last_x = x(i) + (34 if last_x > 0 else 58)
    out.append(f'<line x1="{x0}" y1="{_TOP - 4}" x2="{x1}" y2="{_TOP - 4}" stroke="#d0d7de"/></g>')

    for row, cid in enumerate(tl.criteria):
        y = _TOP + row * _ROW
        runs = _merge_narrow(_runs(tl, cid), step, min_px)
        out.append(f'<g class="row" data-criterion="{cid}">')
        out.append(f'<text x="6" y="{y + 20}" font-weight="bold">{cid}</text>')
        lanes = [-1e9, -1e9]
        for a, b, v in runs:
            ca, cb = tl.commits[a], tl.commits[b]
            o = tl.outcomes[ca.sha][cid]
            count = b - a + 1
            what = (f"changes {sum(1 for k in range(a + 1, b + 1) if tl.outcomes[tl.commits[k].sha][cid].verdict != tl.outcomes[tl.commits[k - 1].sha][cid].verdict)} times"
                    if v == "mixed" else LABEL[v])
            title = (f"{cid} {what}: {count} commit{'s' if count > 1 else ''}, {ca.sha[:7]} ({_date(ca.timestamp)}) "
                     f"to {cb.sha[:7]} ({_date(cb.timestamp)})" + ("" if v == "mixed" else f": {o.message[:200]}"))
            w = max(round((count) * step, 1), 1.0)
            out.append(f'<rect class="run {v}" x="{x(a)}" y="{y + 11}" width="{w}" height="10" fill="{COLOUR[v]}">'
                       f"<title>{escape(title)}</title></rect>")
            if a == 0:
                continue
            # the change at commit a: its short id above the bar, else below, if there is room
            cx = x(a)
            lane = next((k for k in (0, 1) if cx - _SHA_W / 2 >= lanes[k] + 3), None)
            if lane is None:
                continue
            lanes[lane] = cx + _SHA_W / 2
            ly = y + 8 if lane == 0 else y + 30
            out.append(f'<text class="change" x="{cx}" y="{ly}" font-family="{_MONO}" font-size="9" '
                       f'text-anchor="middle" fill="#24292f">{ca.sha[:7]}</text>')
        now = tl.outcomes[last.sha][cid].verdict
        out.append(f'<rect x="{x1 + 10}" y="{y + 11}" width="10" height="10" fill="{COLOUR[now]}"/>'
                   f'<text x="{x1 + 24}" y="{y + 20}">{now}</text></g>')
    out.append(f'<text x="{x1 + 10}" y="{_TOP - 18}" font-size="10" fill="#57606a">now</text>')

    # commit axis (below the rows)
    ay = rows_bottom + 4
    out.append(f'<g class="commit-axis" font-size="10" fill="#57606a">'
               f'<line x1="{x0}" y1="{ay}" x2="{x1}" y2="{ay}" stroke="#d0d7de"/>'
               f'<text x="4" y="{ay + 14}">commit</text>')
    every = next(k for k in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10**9) if k * step >= 56)
    for i in list(range(0, n, every)):
        c = tl.commits[i]
        out.append(f'<line x1="{x(i + 0.5)}" y1="{ay}" x2="{x(i + 0.5)}" y2="{ay + 5}" stroke="#8c959f"/>'
                   f'<text x="{x(i + 0.5)}" y="{ay + 16}" text-anchor="middle">#{i + 1}'
                   f"<title>{c.sha[:7]} {escape(c.subject[:120])}</title></text>")
    out.append("</g>")

    if closed_at and closed_at in index:
        cx = x(index[closed_at] + 0.5)
        c = tl.commits[index[closed_at]]
        out.append(f'<g class="closed-at"><line x1="{cx}" y1="{_TOP - 30}" x2="{cx}" y2="{rows_bottom}" '
                   f'stroke="#0969da" stroke-width="1.5" stroke-dasharray="4 3"/>'
                   f'<text x="{cx + 3}" y="{_TOP - 31}" font-size="10" fill="#0969da">task closed: {c.sha[:7]} '
                   f"{_date(c.timestamp)}</text><title>closed at {c.sha[:7]} ({_date(c.timestamp)}): "
                   f"{escape(c.subject[:120])}</title></g>")

    # legend
    ly = rows_bottom + 44
    out.append(f'<g class="legend" font-size="11"><text x="6" y="{ly + 9}">legend</text>')
    lx = x0
    kinds = ["pass", "fail", "error"] + (["mixed"] if min_px > 0 else [])
    for k in kinds:
        text = f"{k}: {LABEL[k]}"
        out.append(f'<rect x="{lx}" y="{ly}" width="14" height="10" fill="{COLOUR[k]}"/>'
                   f'<text x="{lx + 18}" y="{ly + 9}">{text}</text>')
        lx += 18 + _text_width(text) + 18
    text = "when the task was closed"
    out.append(f'<line x1="{lx}" y1="{ly + 5}" x2="{lx + 18}" y2="{ly + 5}" stroke="#0969da" stroke-width="1.5" '
               f'stroke-dasharray="4 3"/><text x="{lx + 22}" y="{ly + 9}">{text}</text>')
    lx += 22 + _text_width(text) + 18
    out.append(f'<text x="{lx}" y="{ly + 9}" font-family="{_MONO}" font-size="9">abc1234</text>'
               f'<text x="{lx + 46}" y="{ly + 9}">verdict changed here (hover a segment for details)</text>')
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
