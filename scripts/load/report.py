#!/usr/bin/env python3
"""The tables of scripts/load.sh, from the files it wrote to OUT.

    python3 scripts/load/report.py OUT      # prints Markdown; writes OUT/results.tsv

Per row: the median req/s over the rounds, the medians of the rounds' p50 and p99 latencies,
and the ratio of the row's req/s to its baseline's req/s *in the same round* (median, min,
max). Round 0 is the warm-up and is left out.
"""

import csv
import json
import statistics
import sys
from pathlib import Path


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def kib_to_mib(value):
    try:
        return f"{int(value) / 1024:.1f} MiB"
    except (TypeError, ValueError):
        return "n/a"


def cell_text(text):
    """Text safe inside a Markdown table cell in backticks."""
    return text.replace("|", "\\|").replace("`", "'")


def number(value, digits=0):
    return f"{value:,.{digits}f}".replace(",", " ")


def main(out):
    out = Path(out)
    rows = read_tsv(out / "rows.tsv")
    raw = [r for r in read_tsv(out / "raw.tsv") if r["round"] != "0"]
    meta = {}
    with open(out / "meta.tsv") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value

    rate = {}  # (round, id) -> req/s
    by_row = {}
    for r in raw:
        seconds = int(r["duration_us"]) / 1e6
        rps = int(r["requests"]) / seconds if seconds > 0 else 0.0
        rate[(r["round"], r["id"])] = rps
        by_row.setdefault(r["id"], []).append({**r, "rps": rps})

    results = []
    for row in rows:
        runs = by_row.get(row["id"], [])
        if not runs:
            continue
        ratios = []
        for run in runs:
            base = rate.get((run["round"], row["baseline"]), 0.0)
            if base > 0:
                ratios.append(run["rps"] / base)
        results.append(
            {
                **row,
                "median_rps": statistics.median(run["rps"] for run in runs),
                "p50_ms": statistics.median(int(run["p50_us"]) for run in runs) / 1000,
                "p99_ms": statistics.median(int(run["p99_us"]) for run in runs) / 1000,
                "ratio_median": statistics.median(ratios) if ratios else float("nan"),
                "ratio_min": min(ratios) if ratios else float("nan"),
                "ratio_max": max(ratios) if ratios else float("nan"),
                "non2xx": sum(int(run["non2xx"]) for run in runs),
                "socket_errors": sum(int(run["socket_errors"]) for run in runs),
                "rounds": len(runs),
            }
        )

    columns = ["id", "group", "chart", "label", "median_rps", "p50_ms", "p99_ms",
               "ratio_median", "ratio_min", "ratio_max", "non2xx", "socket_errors", "rounds"]
    with open(out / "results.tsv", "w") as f:
        f.write("\t".join(columns) + "\n")
        for r in results:
            f.write("\t".join(
                f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]) for c in columns
            ) + "\n")

    print(f"Run of {meta.get('date', '?')} at commit {meta.get('commit', '?')}: "
          f"`{meta.get('command', '?')}`  ")
    print(f"Machine: {meta.get('nproc', '?')} CPUs ({meta.get('cpu', '?')}), "
          f"{meta.get('memory', '?')} RAM; wrk {meta.get('wrk', '?')}; wrk and the targets "
          f"share the CPUs.")
    titles = {
        "resource": "Resource server (ratio: req/s over `no auth` of the same server, same round)",
        "peer": f"Peers: same handler, key and token, {meta.get('peer_alg', '?')} "
                "(ratio: over `no auth` of this crate's target, same round)",
        "token": "Token endpoint (ratio: grants/s over `GET /healthz` of the same server, "
                 "same round)",
    }
    for group in ("resource", "peer", "token"):
        chosen = [r for r in results if r["group"] == group]
        if not chosen:
            continue
        unit = "grants/s" if group == "token" else "req/s"
        print(f"\n### {titles[group]}\n")
        print(f"| row | median {unit} | p50 ms | p99 ms | ratio (median) | ratio (min–max) "
              "| non-2xx |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in chosen:
            unit_rps = r["median_rps"]
            errors = r["non2xx"] + r["socket_errors"]
            print(f"| {r['label']} | {number(unit_rps)} | {r['p50_ms']:.2f} | "
                  f"{r['p99_ms']:.2f} | {r['ratio_median']:.3f} | "
                  f"{r['ratio_min']:.3f}–{r['ratio_max']:.3f} | "
                  f"{errors if errors else 0}{' ⚠' if errors else ''} |")

    memory = {}
    if (out / "memory.tsv").exists():
        memory = {r["key"]: r["value"] for r in read_tsv(out / "memory.tsv")}
    if memory:
        print("\n### Memory\n")
        print("| what | figure |")
        print("|---|---|")
        if "flood_result" in memory:
            fields = dict(
                part.split("=", 1) for part in memory["flood_result"].split()[1:] if "=" in part
            )
            try:
                stats = json.loads(memory.get("flood_stats") or "{}")
            except json.JSONDecodeError:
                stats = {}
            print(f"| flood target before (fresh `load_target`, no token files) | VmRSS "
                  f"{kib_to_mib(memory.get('flood_rss_before_kib'))} |")
            print(f"| after {number(int(meta.get('flood', '0')))} distinct valid tokens through "
                  f"`BearerAuthLayer` (cache on, EdDSA) | VmRSS "
                  f"{kib_to_mib(memory.get('flood_rss_after_kib'))}, peak (VmHWM) "
                  f"{kib_to_mib(memory.get('flood_hwm_after_kib'))} |")
            print(f"| verified-token cache after the flood | "
                  f"{number(stats.get('cached_tokens', 0))} entries, capacity "
                  f"{number(stats.get('cache_capacity', 0))} |")
            print(f"| flood: answers | {number(int(fields.get('ok', 0)))} × 200, "
                  f"{fields.get('other', '?')} other, {fields.get('failed', '?')} failed, "
                  f"{fields.get('secs', '?')} s ({fields.get('rate', '?')} tokens/s, "
                  f"client signing included) |")
        print(f"| resource target after the rounds (10 000-token rows, two algorithms) | VmRSS "
              f"{kib_to_mib(memory.get('load_target_rss_kib'))}, peak "
              f"{kib_to_mib(memory.get('load_target_hwm_kib'))} |")
        print(f"| demo (`cargo run --release --example server`) idle | VmRSS "
              f"{kib_to_mib(memory.get('demo_rss_kib'))} (target < 25 MB) |")

    if (out / "probes.tsv").exists():
        probes = read_tsv(out / "probes.tsv")
        targets = list(dict.fromkeys(p["target"] for p in probes))
        names = list(dict.fromkeys(p["probe"] for p in probes))
        cell = {(p["probe"], p["target"]): p for p in probes}
        print(f"\n### Answers to one-thing-wrong tokens ({meta.get('peer_alg', '?')}, "
              "as configured above)\n")
        print("| token | " + " | ".join(targets) + " |")
        print("|---|" + "---|" * len(targets))
        for name in names:
            print(f"| {name} | " + " | ".join(
                cell.get((name, t), {}).get("status", "") for t in targets) + " |")
        print("\nChallenges (`WWW-Authenticate`) and bodies for no token, malformed tokens and "
              "an oversized one:\n")
        print("| token | target | status | WWW-Authenticate | body |")
        print("|---|---|---|---|---|")
        for name in ("no token", "not a JWT", "signature not base64url", "not token68 (a '!')",
                     "100 KiB token (valid signature)"):
            for t in targets:
                p = cell.get((name, t))
                if p:
                    challenge = cell_text(p["www-authenticate"]) or "(none)"
                    body = cell_text(p["body"].strip()) or "(empty)"
                    print(f"| {name} | {t} | {p['status']} | `{challenge}` | `{body}` |")


if __name__ == "__main__":
    main(sys.argv[1])
