"""pipit's drift statistics against scipy's (see bench/drift-vs-scipy)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

PIPIT, WORK = sys.argv[1], sys.argv[2]
TOLERANCE = 1e-6


def psi_bins(reference, current):
    cuts = np.quantile(reference, [k / 10 for k in range(1, 10)])
    def counts(values):
        # Right-closed bins (-inf, q1], (q1, q2], ..., (q9, inf).
        return np.bincount(np.searchsorted(cuts, values, side="left"), minlength=10).astype(float)
    return counts(reference), counts(current)


def psi(ref_counts, cur_counts):
    p_ref = ref_counts / ref_counts.sum()
    p_cur = cur_counts / cur_counts.sum()
    p_ref = np.where(ref_counts == 0, 1e-6, p_ref)
    p_cur = np.where(cur_counts == 0, 1e-6, p_cur)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


def expected_numeric(reference, current):
    ks = ks_2samp(reference, current)
    ref_counts, cur_counts = psi_bins(reference, current)
    return {
        "ks_stat": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "psi": psi(ref_counts, cur_counts),
        "wasserstein": float(wasserstein_distance(reference, current)),
        "jensen_shannon": float(jensenshannon(ref_counts, cur_counts)),
    }


def expected_categorical(reference, current):
    categories = sorted(set(reference) | set(current))
    ref_counts = np.array([reference.count(c) for c in categories], dtype=float)
    cur_counts = np.array([current.count(c) for c in categories], dtype=float)
    result = {"psi": psi(ref_counts, cur_counts),
              "jensen_shannon": float(jensenshannon(ref_counts, cur_counts))}
    if len(categories) > 1:
        chi = chi2_contingency(np.array([ref_counts, cur_counts]))
        result["chi2_stat"] = float(chi.statistic)
        result["chi2_pvalue"] = float(chi.pvalue)
    else:
        result["chi2_stat"], result["chi2_pvalue"] = 0.0, 1.0
    return result


def cases(rng):
    normal = lambda n, mu=0.0, sd=1.0: rng.normal(mu, sd, n)
    yield "normal, no shift, 500 vs 500", normal(500), normal(500)
    yield "normal, mean shift 0.3, 400 vs 300", normal(400), normal(300, 0.3)
    yield "normal, variance x2, 1000 vs 800", normal(1000), normal(800, 0, 2)
    yield "heavy ties (rounded), 600 vs 450", np.round(normal(600), 0), np.round(normal(450, 0.2), 0)
    yield "ties, integers 0-4, 300 vs 200", rng.integers(0, 5, 300).astype(float), rng.integers(0, 5, 200).astype(float)
    yield "tiny, 5 vs 7", normal(5), normal(7, 0.5)
    yield "tiny, 8 vs 8", normal(8), normal(8, 1.0)
    yield "unequal, 3000 vs 1234", normal(3000), normal(1234, 0.05)
    yield "exact limit, 10000 vs 9999", normal(10000), normal(9999, 0.02)
    yield "asymptotic, 100k vs 100k", normal(100_000), normal(100_000, 0.01)
    yield "asymptotic, 100k vs 20k, shift", normal(100_000), normal(20_000, 0.05)
    yield "asymptotic, 20k vs 60, shift", normal(20_000), normal(60, 0.4)
    yield "lognormal skew, 2000 vs 2000", rng.lognormal(0, 1, 2000), rng.lognormal(0.1, 1, 2000)
    cats = ["a", "b", "c", "d"]
    yield "categorical, same, 800 vs 600", list(rng.choice(cats, 800)), list(rng.choice(cats, 600))
    yield "categorical, shifted, 800 vs 600", list(rng.choice(cats, 800)), list(rng.choice(cats, 600, p=[0.4, 0.3, 0.2, 0.1]))
    yield "categorical, new category, 500 vs 500", list(rng.choice(cats, 500)), list(rng.choice(cats + ["e"], 500))
    yield "categorical, two values (Yates), 300 vs 250", list(rng.choice(["x", "y"], 300)), list(rng.choice(["x", "y"], 250, p=[0.6, 0.4]))
    yield "categorical, 100k vs 100k", list(rng.choice(cats, 100_000)), list(rng.choice(cats, 100_000, p=[0.26, 0.25, 0.25, 0.24]))


def main():
    rng = np.random.default_rng(2026)
    os.makedirs(WORK, exist_ok=True)
    print(f"# pipit drift vs scipy {scipy.__version__}")
    print()
    print(f"Largest absolute difference per statistic over each case; tolerance {TOLERANCE:g}.")
    print()
    print("| case | ks_stat | ks_pvalue | chi2_stat | chi2_pvalue | psi | wasserstein | jensen_shannon | ok |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|:-:|")
    failures = 0
    names = ["ks_stat", "ks_pvalue", "chi2_stat", "chi2_pvalue", "psi", "wasserstein", "jensen_shannon"]
    for index, (title, reference, current) in enumerate(cases(rng)):
        folder = os.path.join(WORK, str(index))
        os.makedirs(folder, exist_ok=True)
        numeric = not isinstance(reference, list)
        for name, values in (("reference", reference), ("current", current)):
            with open(os.path.join(folder, f"{name}.csv"), "w") as file:
                file.write("x\n")
                for v in values:
                    file.write((repr(float(v)) if numeric else v) + "\n")
        out = os.path.join(folder, "drift.json")
        subprocess.run(
            [PIPIT, "stage", "drift", "--reference", os.path.join(folder, "reference.csv"),
             "--current", os.path.join(folder, "current.csv"), "--rule", "pvalue", "--out", out],
            check=True, capture_output=True,
        )
        with open(out) as file:
            got = json.load(file)["columns"]["x"]
        expected = expected_numeric(np.asarray(reference), np.asarray(current)) if numeric \
            else expected_categorical(reference, current)
        cells, ok = [], True
        for name in names:
            if name not in expected:
                cells.append("–")
                continue
            difference = abs(got[name] - expected[name])
            if not difference <= TOLERANCE:
                ok = False
            cells.append(f"{difference:.1e}")
        failures += not ok
        print(f"| {title} | {' | '.join(cells)} | {'yes' if ok else 'NO'} |")
    print()
    print("all within tolerance" if failures == 0 else f"{failures} cases outside the tolerance")
    print()
    print(f"Speed: {speed(rng)}")
    sys.exit(1 if failures else 0)


def speed(rng):
    """Times `pipit stage drift` on 100,000 rows x 20 numeric columns (best of 3)."""
    folder = os.path.join(WORK, "speed")
    os.makedirs(folder, exist_ok=True)
    for name, shift in (("reference", 0.0), ("current", 0.05)):
        columns = np.column_stack([rng.normal(shift * i, 1 + 0.01 * i, 100_000) for i in range(20)])
        with open(os.path.join(folder, f"{name}.csv"), "w") as file:
            file.write(",".join(f"c{i}" for i in range(20)) + "\n")
            np.savetxt(file, columns, delimiter=",", fmt="%.6f")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(
            [PIPIT, "stage", "drift", "--reference", os.path.join(folder, "reference.csv"),
             "--current", os.path.join(folder, "current.csv"), "--out", os.path.join(folder, "d.json")],
            check=True, capture_output=True,
        )
        best = min(best, time.perf_counter() - started)
    return f"100,000 rows x 20 numeric columns, rule evidently, reading both CSVs included: {best:.2f} s (best of 3)"


main()
