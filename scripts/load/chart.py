#!/usr/bin/env python3
"""The peer chart of scripts/load.sh: a plain SVG bar chart of the median req/s ratio to
`no auth` (with the rounds' min–max as a whisker) of the rows marked `chart` in results.tsv.

    python3 scripts/load/chart.py OUT/results.tsv OUT/meta.tsv docs/performance.svg
"""

import csv
import sys
from xml.sax.saxutils import escape

LABEL_WIDTH = 290
BAR_WIDTH = 420
ROW_HEIGHT = 26
TOP = 70
BOTTOM = 44
WIDTH = LABEL_WIDTH + BAR_WIDTH + 70


def main(results_path, meta_path, svg_path):
    with open(results_path, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
                if r["chart"] != "-"]
    meta = {}
    with open(meta_path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value
    top = max([1.0] + [float(r["ratio_max"]) for r in rows])
    scale = BAR_WIDTH / (top * 1.05)
    height = TOP + ROW_HEIGHT * len(rows) + BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Requests per second as a ratio '
        f'to no auth (median of {escape(meta.get("rounds", "?"))} rounds × '
        f'{escape(meta.get("duration", "?"))})</text>',
        f'<text x="10" y="38" fill="#555">Same axum handler, key and token '
        f'({escape(meta.get("peer_alg", "?"))}); wrk '
        f'{escape(meta.get("wrk", "?").split(",")[0])} on 127.0.0.1, '
        f'{escape(meta.get("nproc", "?"))} CPUs shared by wrk and the targets.</text>',
        '<text x="10" y="54" fill="#555">Bars: median of the per-round ratios; whiskers: '
        'their min–max.</text>',
    ]
    for i, r in enumerate(rows):
        y = TOP + i * ROW_HEIGHT
        median = float(r["ratio_median"])
        low, high = float(r["ratio_min"]), float(r["ratio_max"])
        ours = r["id"].startswith(("eddsa", "es256"))
        colour = "#2b6cb0" if ours else ("#9aa5b1" if r["group"] == "resource" else "#dd8452")
        x0 = LABEL_WIDTH
        out.append(f'<text x="{x0 - 8}" y="{y + 16}" text-anchor="end">'
                   f'{escape(r["chart"])}</text>')
        out.append(f'<rect x="{x0}" y="{y + 4}" width="{median * scale:.1f}" height="16" '
                   f'fill="{colour}"/>')
        out.append(f'<line x1="{x0 + low * scale:.1f}" x2="{x0 + high * scale:.1f}" '
                   f'y1="{y + 12}" y2="{y + 12}" stroke="black"/>')
        for edge in (low, high):
            out.append(f'<line x1="{x0 + edge * scale:.1f}" x2="{x0 + edge * scale:.1f}" '
                       f'y1="{y + 8}" y2="{y + 16}" stroke="black"/>')
        out.append(f'<text x="{x0 + max(median, high) * scale + 6:.1f}" y="{y + 16}">'
                   f'{median:.2f}</text>')
    axis_y = TOP + ROW_HEIGHT * len(rows) + 4
    one = LABEL_WIDTH + scale
    out.append(f'<line x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH}" y1="{TOP}" y2="{axis_y}" '
               f'stroke="#333"/>')
    out.append(f'<line x1="{one:.1f}" x2="{one:.1f}" y1="{TOP}" y2="{axis_y}" stroke="#333" '
               f'stroke-dasharray="4 3"/>')
    out.append(f'<text x="{one:.1f}" y="{axis_y + 14}" text-anchor="middle">1.0 = no auth'
               f'</text>')
    out.append(f'<text x="10" y="{height - 10}" fill="#555">{escape(meta.get("date", ""))}, '
               f'{escape(meta.get("cpu", ""))}; blue: this crate, orange: peers, grey: '
               f'reference rows. Source: scripts/load.sh</text>')
    out.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
