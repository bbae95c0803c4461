"""pipit's models at their defaults against scikit-learn's, LightGBM's and
XGBoost's at theirs (see bench/models-at-defaults).

Every data set is split 80/20 (stratified for classification) with several
seeds; each library fits each of its models on the same CSV files, and the
table shows medians over the seeds of the test metric and of the fit time.
Binary data sets with a rare class are also fitted with class weights
(pipit and HistGradientBoosting `class_weight: balanced`, LightGBM
`class_weight="balanced"`, XGBoost `scale_pos_weight = negatives/positives`).
"""

import json
import os
import platform
import re
import subprocess
import sys
import time

import lightgbm
import numpy as np
import pandas as pd
import sklearn
import xgboost
from sklearn import datasets
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import average_precision_score, f1_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

PIPIT, SEEDS, WORK = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ONLY = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else None
# Each booster (`gbm`) is fitted this many times per split and its fastest fit
# kept: a single fit's time on this VM moves ±10 % from run to run.
REPEATS = int(os.environ.get("REPEATS", "3"))


def bundled(load):
    def frame():
        return load(as_frame=True).frame
    return frame


def friedman1():
    x, y = datasets.make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["target"] = y
    return frame


def imbalanced():
    x, y = datasets.make_classification(
        n_samples=10000, n_features=20, n_informative=6, weights=[0.97], flip_y=0.005,
        class_sep=0.8, random_state=0)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["target"] = y
    return frame


def generated(dataset, target, rows, extra=()):
    """pipit's own generator, cleaned by `pipit stage prepare` (its splits of
    every row, train and test together, are the frame)."""
    def frame():
        folder = os.path.join(WORK, "generated", dataset)
        os.makedirs(folder, exist_ok=True)
        raw = os.path.join(folder, "raw.csv")
        subprocess.run([PIPIT, "stage", "generate", "--dataset", dataset, "--rows", str(rows),
                        "--seed", "42", "--out", raw, *extra], check=True, capture_output=True)
        task = "regression" if dataset == "housing" else "classification"
        subprocess.run([PIPIT, "stage", "prepare", "--data", raw, "--target", target, "--task",
                        task, "--out-dir", os.path.join(folder, "prepared")],
                       check=True, capture_output=True)
        parts = [pd.read_csv(os.path.join(folder, "prepared", f)) for f in ("train.csv", "test.csv")]
        frame = pd.concat(parts, ignore_index=True).rename(columns={target: "target"})
        if task == "classification":
            frame["target"] = frame["target"].astype(str)
        return frame
    return frame


# (title, frame, task, rare: fit boosters with class weights too, seeds)
DATASETS = [
    ("breast cancer", bundled(datasets.load_breast_cancer), "classification", False),
    ("wine", bundled(datasets.load_wine), "classification", False),
    ("iris", bundled(datasets.load_iris), "classification", False),
    ("digits", bundled(datasets.load_digits), "classification", False),
    ("diabetes", bundled(datasets.load_diabetes), "regression", False),
    ("friedman1", friedman1, "regression", False),
    ("imbalanced (3 %)", imbalanced, "classification", True),
    ("housing (demo)", generated("housing", "MedHouseVal", 20640), "regression", False),
    ("churn (demo)", generated("churn", "Churn", 7043), "classification", False),
    ("credit (demo)", generated("credit", "is_fraud", 50000, ["--positive-rate", "0.005"]),
     "classification", True),
]

MODELS = {
    "classification": ["linear", "tree", "forest", "gbm", "gbm depth 3"],
    "regression": ["linear", "tree", "forest", "gbm", "gbm depth 3"],
}

# pipit's gbm as it was before HistGradientBoosting's defaults (scikit-learn's
# GradientBoosting shape: depth 3, 1 row a leaf, every round), for comparison.
DEPTH_3 = ["--param", "max_depth=3", "--param", "max_leaf_nodes=null",
           "--param", "min_samples_leaf=1", "--param", "early_stopping=false"]


def pipit_kind(name, task):
    if name == "gbm depth 3":
        return "gbm"
    if name == "linear":
        return "logistic" if task == "classification" else "ridge"
    return name


def python_model(library, name, task, seed, weights):
    """A library's model at its defaults (weights: the balanced variant)."""
    classify = task == "classification"
    if library == "scikit-learn":
        if name == "linear":
            inner = LogisticRegression(max_iter=1000) if classify else Ridge()
            return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), inner)
        if name == "tree":
            return (DecisionTreeClassifier if classify else DecisionTreeRegressor)(random_state=seed)
        if name == "forest":
            return (RandomForestClassifier if classify else RandomForestRegressor)(random_state=seed)
        if name == "gbm":
            cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
            extra = {"class_weight": "balanced"} if weights else {}
            return cls(random_state=seed, **extra)
    if library == "LightGBM" and name == "gbm":
        cls = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
        extra = {"class_weight": "balanced"} if weights else {}
        return cls(random_state=seed, verbose=-1, n_jobs=2, **extra)
    if library == "XGBoost" and name == "gbm":
        cls = xgboost.XGBClassifier if classify else xgboost.XGBRegressor
        return cls(random_state=seed, n_jobs=2)
    return None


def encode(train, test):
    """One-hot text columns alike in both (the libraries take numbers)."""
    x_train, x_test = train.drop(columns="target"), test.drop(columns="target")
    both = pd.get_dummies(pd.concat([x_train, x_test], keys=["train", "test"]), dtype=float)
    return both.xs("train"), both.xs("test")


def scores(task, truth, predicted, positive_scores):
    if task == "regression":
        return r2_score(truth, predicted), None
    binary = len(np.unique(truth)) == 2
    f1 = f1_score(truth, predicted, average="binary" if binary else "macro", pos_label=1)
    pr_auc = average_precision_score(truth, positive_scores) if binary else None
    return f1, pr_auc


def pipit(task, name, folder, seed, weights):
    kind = pipit_kind(name, task)
    metrics = os.path.join(folder, f"pipit-{name.replace(' ', '-')}{'-w' if weights else ''}.json")
    args = [PIPIT, "stage", "train",
            "--train", os.path.join(folder, "train.csv"), "--test", os.path.join(folder, "test.csv"),
            "--target", "target", "--task", task, "--model", kind, "--seed", str(seed),
            "--model-out", os.path.join(folder, "pipit.model"), "--metrics-out", metrics]
    if weights:
        args += ["--param", "class_weight=balanced"]
    if name == "gbm depth 3":
        args += DEPTH_3
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    found = re.search(r" in ([0-9.]+) (ms|s):", done.stdout + done.stderr)
    fit = float(found.group(1)) / (1000 if found.group(2) == "ms" else 1)
    with open(metrics) as file:
        values = json.load(file)
    return values["f1" if task == "classification" else "r2"], values.get("pr_auc"), fit


def run_python(library, name, task, seed, weights, data):
    x_train, y_train, x_test, y_test = data
    model = python_model(library, name, task, seed, weights)
    if model is None:
        return None
    fit_args = {}
    if library == "XGBoost" and weights:
        negatives, positives = (y_train == 0).sum(), (y_train == 1).sum()
        model.set_params(scale_pos_weight=negatives / max(positives, 1))
    started = time.perf_counter()
    model.fit(x_train, y_train, **fit_args)
    fit = time.perf_counter() - started
    predicted = model.predict(x_test)
    positive = model.predict_proba(x_test)[:, 1] if task == "classification" and len(np.unique(y_train)) == 2 else None
    metric, pr_auc = scores(task, y_test, predicted, positive)
    return metric, pr_auc, fit


LIBRARIES = ["pipit", "scikit-learn", "LightGBM", "XGBoost"]


def main():
    results = {}  # (title, name, weights, library) -> [(metric, pr_auc, fit)]
    for title, frame_of, task, rare in DATASETS:
        if ONLY and not any(o in title for o in ONLY):
            continue
        frame = frame_of()
        if task == "classification":
            # Class labels as 0..k-1 for the libraries, as text for pipit's CSV.
            codes, labels = pd.factorize(frame["target"].astype(str), sort=True)
            frame["target"] = codes
        for seed in range(SEEDS):
            train, test = train_test_split(frame, test_size=0.2, random_state=seed,
                                           stratify=frame["target"] if task == "classification" else None)
            folder = os.path.join(WORK, re.sub(r"[^a-z0-9]+", "-", title.lower()), str(seed))
            os.makedirs(folder, exist_ok=True)
            train.to_csv(os.path.join(folder, "train.csv"), index=False)
            test.to_csv(os.path.join(folder, "test.csv"), index=False)
            x_train, x_test = encode(train, test)
            data = (x_train, train["target"], x_test, test["target"])
            for name in MODELS[task]:
                for weights in ([False, True] if rare and name.startswith("gbm") else [False]):
                    key = (title, name, weights)
                    repeats = REPEATS if name == "gbm" else 1
                    outcome = fastest([pipit(task, name, folder, seed, weights) for _ in range(repeats)])
                    results.setdefault(key + ("pipit",), []).append(outcome)
                    for library in LIBRARIES[1:]:
                        outcomes = [run_python(library, name, task, seed, weights, data)
                                    for _ in range(repeats)]
                        if outcomes[0] is not None:
                            results.setdefault(key + (library,), []).append(fastest(outcomes))
        print(f"done {title}", file=sys.stderr)
    report(results)


def fastest(outcomes):
    """The first fit's metrics with the fastest fit's time (refits are identical)."""
    metric, pr_auc, _ = outcomes[0]
    return metric, pr_auc, min(fit for _, _, fit in outcomes)


def median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def report(results):
    print(f"# pipit's models at their defaults against scikit-learn {sklearn.__version__}, "
          f"LightGBM {lightgbm.__version__} and XGBoost {xgboost.__version__}")
    print()
    print(f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}; medians over "
          f"{SEEDS} seeded 80/20 splits (stratified for classification) per data set.")
    print("Metric: F1 (binary, or macro for multiclass) or R² on the test split; PR-AUC for")
    print("binary data sets. Fit time: pipit as it reports it (around its fit, without")
    print("reading the CSV); the Python libraries around `fit`. LightGBM and XGBoost: 2 threads.")
    print(f"Boosters (`gbm`): the fastest of {REPEATS} fits per split, then the median over splits.")
    print("`(w)`: fitted with class weights (balanced).")
    print()
    print("| data set | model | pipit | scikit-learn | LightGBM | XGBoost | pipit fit | scikit-learn fit | LightGBM fit | XGBoost fit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    titles = []
    for (title, name, weights, library) in results:
        if title not in titles:
            titles.append(title)
    summary = []
    speed = []  # (title, model, pipit fit, LightGBM fit)
    for title in titles:
        keys = sorted({(n, w) for (t, n, w, _) in results if t == title},
                      key=lambda k: (MODELS["classification"].index(k[0]), k[1]))
        best = {library: (None, None) for library in LIBRARIES}
        for name, weights in keys:
            label = f"{name}{' (w)' if weights else ''}"
            cells, fits, fit_of = [], [], {}
            for library in LIBRARIES:
                runs = results.get((title, name, weights, library))
                if not runs:
                    cells.append("–")
                    fits.append("–")
                    continue
                metric = median([r[0] for r in runs])
                pr_auc = median([r[1] for r in runs])
                fit = median([r[2] for r in runs])
                cells.append(f"{metric:.4f}" + (f" ({pr_auc:.3f})" if pr_auc is not None else ""))
                fits.append(f"{fit * 1000:.1f} ms")
                fit_of[library] = fit
                if best[library][0] is None or metric > best[library][0]:
                    best[library] = (metric, label)
            print(f"| {title} | {label} | {' | '.join(cells)} | {' | '.join(fits)} |")
            if "pipit" in fit_of and "LightGBM" in fit_of:
                speed.append((title, label, fit_of["pipit"], fit_of["LightGBM"]))
        summary.append((title, best))
    print()
    print("Best model per library (by the metric; PR-AUC in brackets above):")
    print()
    print("| data set | pipit | best library | best of the libraries | Δ | within 0.01 |")
    print("|---|---|---|---|---:|:-:|")
    for title, best in summary:
        pipit_metric, pipit_name = best["pipit"]
        others = [(m, lib, n) for lib, (m, n) in best.items() if lib != "pipit" and m is not None]
        top = max(others)
        delta = pipit_metric - top[0]
        print(f"| {title} | {pipit_metric:.4f} {pipit_name} | {top[1]} | {top[0]:.4f} {top[2]} | "
              f"{delta:+.4f} | {'yes' if delta >= -0.01 else 'no'} |")
    print()
    print("gbm fit time against LightGBM's (medians from the first table):")
    print()
    print("| data set | model | pipit | LightGBM | pipit / LightGBM | no slower |")
    print("|---|---|---:|---:|---:|:-:|")
    for title, label, ours, theirs in speed:
        print(f"| {title} | {label} | {ours * 1000:.1f} ms | {theirs * 1000:.1f} ms | "
              f"{ours / theirs:.2f} | {'yes' if ours <= theirs else 'no'} |")


main()
