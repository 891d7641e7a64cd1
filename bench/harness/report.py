"""Machine facts, ratios and the side-by-side tables of one run.

Results are dicts keyed by scenario then target (see bench/run for their fields). A ratio is sless / peer for
requests per second (above 1: sless serves more) and for server CPU per request (below 1: sless spends less).
The nginx column is the machine's HTTP ceiling: sless/nginx compares each sless scenario with nginx's fixed200.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

from .scenarios import SCENARIOS

MIB = 1024 * 1024


def machine_facts() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else "unknown",
        "memory_gib": round(int(memory.group(1)) / MIB, 1) if memory else None,
        "kernel": platform.release(),
        "os": _os_name(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def _os_name() -> str:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return platform.system()
    found = re.search(r'^PRETTY_NAME="?([^"\n]+)', text, re.MULTILINE)
    return found.group(1) if found else platform.system()


def ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def compute_ratios(results: dict) -> dict:
    """scenario -> peer -> {"rps": sless/peer, "cpu_per_request": sless/peer}; plus "nginx" vs fixed200."""
    ceiling = results.get("fixed200", {}).get("nginx", {}).get("rps")
    ratios = {}
    for scenario, by_target in results.items():
        sless = by_target.get("sless")
        if not sless or "rps" not in sless:
            continue
        ratios[scenario] = {
            peer: {"rps": ratio(sless["rps"], numbers.get("rps")),
                   "cpu_per_request": ratio(sless["server_cpu_us_per_request"],
                                            numbers.get("server_cpu_us_per_request"))}
            for peer, numbers in by_target.items() if peer != "sless" and "rps" in numbers}
        if ceiling:
            ratios[scenario]["nginx"] = {"rps": ratio(sless["rps"], ceiling)}
    return ratios


def _other_text(numbers: dict) -> str:
    """Other load in % of one core; "!" marks a run that stayed noisy (see bench/run --noisy-retries)."""
    if not numbers["elapsed_s"]:
        return "-"
    return f"{100 * numbers['other_cpu_s'] / numbers['elapsed_s']:.0f}%" + ("!" if numbers.get("noisy") else "")


def _fmt(value, digits: int = 1, width: int = 9) -> str:
    if value is None:
        return "-".rjust(width)
    return f"{value:,.{digits}f}".rjust(width)


def _ratio_text(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def metric_value(value, unit: str) -> str:
    if isinstance(value, str):  # a list of figures, already written
        return f"{value} {unit}".strip()
    return f"{value:,.1f} {unit}".strip() if isinstance(value, float) else f"{value:,} {unit}".strip()


def _print_metrics(name: str, by_target: dict) -> None:
    """A custom scenario (bench/harness/lambda_bench.py): one line per metric and target."""
    print()
    print(f"== {name}: {SCENARIOS[name].summary}")
    for target, numbers in by_target.items():
        if "metrics" not in numbers:
            print(f"   {target:<11}{numbers.get('status', 'not run')}")
            continue
        for metric, (value, unit) in numbers["metrics"].items():
            print(f"   {target:<11}{metric:<34}{metric_value(value, unit):>16}")
        print(f"   {target:<11}verified {'yes' if numbers['verified'] else 'NO'} ({numbers['verify_detail']})")


def print_tables(results: dict, ratios: dict, targets: dict, settings_line: str) -> None:
    not_run = []
    for name, by_target in results.items():
        if any("metrics" in numbers for numbers in by_target.values()):
            _print_metrics(name, by_target)
            continue
        if not any("rps" in numbers for numbers in by_target.values()):
            not_run.append(name)
            continue
        print()
        print(f"== {name}: {SCENARIOS[name].summary}  ({settings_line})")
        print(f"   {'target':<11}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'cpu µs/req':>12}"
              f"{'rss MiB':>9}{'MB/s':>8}{'other':>7}  {'sless/it':>8}  verified")
        for target, numbers in by_target.items():
            if "rps" not in numbers:
                print(f"   {target:<11}{numbers.get('status', 'not run')}")
                continue
            latency = numbers["latency_ms"]
            peer_ratio = ratios.get(name, {}).get(target, {}).get("rps")
            shown_ratio = _ratio_text(peer_ratio) if target != "sless" else ""
            if target != "sless" and "sless" in SCENARIOS[name].targets and "rps" not in by_target.get("sless", {}):
                shown_ratio = "pending"
            throughput = numbers.get("payload_mb_per_s")
            duration_note = f" ({numbers['duration_s']} s)" if numbers.get("shortened") else ""
            other = _other_text(numbers)
            print(f"   {target:<11}{_fmt(numbers['rps'])}{_fmt(latency['p50'], 2)}{_fmt(latency['p99'], 2)}"
                  f"{numbers['errors']:>8}{_fmt(numbers['server_cpu_us_per_request'], 0, 12)}"
                  f"{_fmt(numbers['server_rss_bytes'] / MIB)}{_fmt(throughput, 1, 8)}{other:>7}  {shown_ratio:>8}  "
                  f"{'yes' if numbers['verified'] else 'NO'} ({numbers['verify_detail']}){duration_note}")
        ceiling = ratios.get(name, {}).get("nginx", {}).get("rps")
        if ceiling is not None:
            print(f"   sless / nginx fixed200: {_ratio_text(ceiling)}")

    print("\n   other: CPU the rest of the machine used during the load (processes other than the server and wrk,"
          " and steal), in % of one core; high values mean a noisy measurement, \"!\" one that stayed noisy"
          " after --noisy-retries.")
    if not_run:
        print(f"\n== not measured on any target: {', '.join(not_run)}")
    print()
    print("== start-up (process start -> first answered HTTP request, polled every 1 ms; idle RSS after ready)")
    print(f"   {'target':<11}{'ready ms':>10}{'idle MiB':>10}  version")
    for name, facts in targets.items():
        if facts.get("available"):
            idle_mib = facts["idle_rss_bytes"] / MIB
            print(f"   {name:<11}{_fmt(facts['ready_ms'], 1, 10)}{_fmt(idle_mib, 1, 10)}  {facts.get('version', '')}")
        else:
            print(f"   {name:<11}unavailable: {facts.get('reason', '')}")


def _fmt_cpu(us_per_request) -> str:
    """Server CPU per request, or "-" when no request was answered (nothing to divide by)."""
    return "-" if us_per_request is None else f"{us_per_request:,.0f}"


def markdown_report(report: dict) -> str:
    """The tables of docs/performance.md, from a results JSON; sless columns say "pending" until it was measured."""
    results, ratios, machine = report["results"], report["ratios"], report["machine"]
    settings = report["settings"]
    lines = [f"Measured {machine['date']} on {machine['nproc']} × {machine['cpu_model']}, "
             f"{machine['memory_gib']} GiB, {machine['os']}, kernel {machine['kernel']}; "
             f"wrk -t{settings['threads']} -c{settings['connections']} -d{settings['duration_s']}s"
             + (f" (moto {settings['moto_duration_s']}s)" if settings["moto_duration_s"] != settings["duration_s"]
                else "") + ".", ""]

    lines += ["| scenario | target | req/s | p50 ms | p99 ms | errors | server CPU µs/req | RSS after, MiB "
              "| other load | verified | sless ÷ target, req/s |",
              "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|"]
    custom = []
    for scenario, by_target in results.items():
        for target, numbers in by_target.items():
            if "metrics" in numbers:
                custom += [f"| {scenario} | {target} | {metric} | {metric_value(value, unit)} |"
                           for metric, (value, unit) in numbers["metrics"].items()]
                continue
            if "rps" not in numbers:
                lines.append(f"| {scenario} | {target} | {numbers.get('status', 'not run')} | | | | | | | | |")
                continue
            if target == "sless" or "sless" not in SCENARIOS[scenario].targets:
                shown = ""
            elif "rps" in by_target.get("sless", {}):
                shown = _ratio_text(ratios.get(scenario, {}).get(target, {}).get("rps"))
            else:
                shown = "pending"
            lines.append(
                f"| {scenario} | {target} | {numbers['rps']:,.0f} | {numbers['latency_ms']['p50']:.1f} "
                f"| {numbers['latency_ms']['p99']:.1f} | {numbers['errors']} "
                f"| {_fmt_cpu(numbers.get('server_cpu_us_per_request'))} | {numbers['server_rss_bytes'] / MIB:.0f} "
                f"| {_other_text(numbers)} | {'yes' if numbers['verified'] else 'no'} | {shown} |")

    if custom:
        lines += ["", "| scenario | target | measure | value |", "|---|---|---|--:|"] + custom
    against_nginx = {scenario: by_peer["nginx"]["rps"] for scenario, by_peer in ratios.items() if "nginx" in by_peer}
    lines += ["", "sless ÷ nginx fixed200, req/s: " + (
        ", ".join(f"{scenario} {_ratio_text(value)}" for scenario, value in against_nginx.items())
        if against_nginx else "pending")]

    lines += ["", "| target | ready ms | idle RSS MiB | version |", "|---|--:|--:|---|"]
    for name, facts in report["targets"].items():
        if facts.get("available"):
            lines.append(f"| {name} | {facts['ready_ms']:,.0f} | {facts['idle_rss_bytes'] / MIB:.0f} "
                         f"| {facts.get('version', '')} |")
        else:
            lines.append(f"| {name} | pending | pending | {facts.get('reason', '')} |")
    return "\n".join(lines) + "\n"
