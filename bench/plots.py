"""The PNG plots of docs/benchmarks.md: throughput against slots, latency distributions."""

from __future__ import annotations

from pathlib import Path

from bench.tables import JP, Doc, burn_rate, slots_in, systems_in


def plots(doc: Doc, assets: Path) -> list[str]:
    """PNG files beside the document; returns their names (none if matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    assets.mkdir(parents=True, exist_ok=True)
    written = []
    slots = slots_in(doc)
    if slots:
        figure, axes = plt.subplots(figsize=(8, 5))
        for system in systems_in(doc, "burn_down"):
            values = [burn_rate(doc, system, k) for k in slots]
            style = "-" if system in JP else ("--" if system.startswith("raw-") else ":")
            axes.plot(slots, [v or float("nan") for v in values], style, marker="o", label=system)
        axes.set_xscale("log", base=2)
        axes.set_yscale("log")
        axes.set_xticks(slots, [str(k) for k in slots])
        axes.set_xlabel("worker slots")
        axes.set_ylabel("jobs per second (log)")
        axes.set_title(f"Burn-down of {doc['plan']['jobs']:,} no-op jobs")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(assets / "throughput.png", dpi=110)
        plt.close(figure)
        written.append("throughput.png")
    cases = [c for c in doc.get("latency", []) if c.get("samples_ms")]
    if cases:
        figure, axes = plt.subplots(figsize=(8, 5))
        for case in cases:
            samples = sorted(case["samples_ms"])
            fractions = [(i + 1) / len(samples) for i in range(len(samples))]
            axes.plot(samples, fractions, label=case["system"])
        axes.set_xscale("log")
        axes.set_xlabel("submit → start, ms (log)")
        axes.set_ylabel("fraction of jobs started")
        axes.set_title(
            f"Latency at {doc['plan']['latency_rate']:g} submits/s, "
            f"{doc['plan']['latency_slots']} slots"
        )
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        figure.savefig(assets / "latency.png", dpi=110)
        plt.close(figure)
        written.append("latency.png")
    return written
