"""pipit's models against scikit-learn's (see bench/ml-vs-sklearn).

For each data set and each of REPEATS seeded 80/20 splits (stratified for
classification), the split is written as CSV; scikit-learn fits its model on
it (fit time measured around `fit`), and `pipit stage train` fits pipit's
(fit time as pipit reports it, around its own fit, excluding reading the
CSV). The table shows the means over the splits.
"""

import json
import os
import platform
import re
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn import datasets
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import f1_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

PIPIT, REPEATS, WORK = sys.argv[1], int(sys.argv[2]), sys.argv[3]

# scikit-learn's random_state offsets used to show how much its own tree
# models move with the seed alone (the "sklearn spread" column).
SEED_OFFSETS = [1000, 2000, 3000]

DATASETS = [
    ("breast cancer", datasets.load_breast_cancer, "classification"),
    ("wine", datasets.load_wine, "classification"),
    ("iris", datasets.load_iris, "classification"),
    ("digits", datasets.load_digits, "classification"),
    ("diabetes", datasets.load_diabetes, "regression"),
]


def sklearn_model(name, task, seed):
    """scikit-learn's closest equivalent, with pipit's default hyperparameters."""
    classify = task == "classification"
    if name == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    if name == "linear":
        return make_pipeline(StandardScaler(), LinearRegression())
    if name == "ridge":
        return make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    if name == "tree":
        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        return cls(random_state=seed)
    if name == "forest":
        if classify:
            return RandomForestClassifier(n_estimators=100, max_features="sqrt", random_state=seed)
        return RandomForestRegressor(n_estimators=100, max_features=1.0, random_state=seed)
    if name == "gbm":
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(
            max_iter=100,
            learning_rate=0.1,
            max_depth=3,
            min_samples_leaf=1,
            early_stopping=False,
            random_state=seed,
        )
    raise ValueError(name)


def models(task):
    if task == "classification":
        return ["logistic", "tree", "forest", "gbm"]
    return ["linear", "ridge", "tree", "forest", "gbm"]


def score(task, truth, predicted):
    if task == "regression":
        return r2_score(truth, predicted)
    average = "binary" if len(np.unique(truth)) == 2 else "macro"
    return f1_score(truth, predicted, average=average)


def pipit(task, name, folder, seed):
    metrics = os.path.join(folder, f"{name}.json")
    done = subprocess.run(
        [
            PIPIT, "stage", "train",
            "--train", os.path.join(folder, "train.csv"),
            "--test", os.path.join(folder, "test.csv"),
            "--target", "target", "--task", task, "--model", name, "--seed", str(seed),
            "--model-out", os.path.join(folder, f"{name}.model"),
            "--metrics-out", metrics,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r" in ([0-9.]+) (ms|s):", done.stdout + done.stderr)
    fit = float(found.group(1)) / (1000 if found.group(2) == "ms" else 1)
    with open(metrics) as file:
        values = json.load(file)
    return values["f1" if task == "classification" else "r2"], fit


def main():
    rows = []
    for title, load, task in DATASETS:
        frame = load(as_frame=True).frame
        results = {name: [] for name in models(task)}
        for seed in range(REPEATS):
            train, test = train_test_split(
                frame,
                test_size=0.2,
                random_state=seed,
                stratify=frame["target"] if task == "classification" else None,
            )
            folder = os.path.join(WORK, title.replace(" ", "-"), str(seed))
            os.makedirs(folder, exist_ok=True)
            train.to_csv(os.path.join(folder, "train.csv"), index=False)
            test.to_csv(os.path.join(folder, "test.csv"), index=False)
            x_train, y_train = train.drop(columns="target"), train["target"]
            x_test, y_test = test.drop(columns="target"), test["target"]
            for name in results:
                model = sklearn_model(name, task, seed)
                started = time.perf_counter()
                model.fit(x_train, y_train)
                sk_fit = time.perf_counter() - started
                sk_metric = score(task, y_test, model.predict(x_test))
                others = [sk_metric]
                if name in ("tree", "forest", "gbm"):
                    for offset in SEED_OFFSETS:
                        other = sklearn_model(name, task, seed + offset).fit(x_train, y_train)
                        others.append(score(task, y_test, other.predict(x_test)))
                pi_metric, pi_fit = pipit(task, name, folder, seed)
                results[name].append((pi_metric, sk_metric, pi_fit, sk_fit, *others))
        for name, runs in results.items():
            width = min(len(r) for r in runs)
            means = np.mean(np.array([r[:width] for r in runs]), axis=0)
            pi_metric, sk_metric, pi_fit, sk_fit = means[:4]
            spread = means[4:].max() - means[4:].min() if width > 5 else 0.0
            rows.append((title, name, task, pi_metric, sk_metric, pi_fit, sk_fit, spread))

    print(f"# pipit vs scikit-learn {sklearn.__version__}")
    print()
    print(f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"means over {REPEATS} seeded 80/20 splits per data set.")
    print("Metric: F1 (binary, or macro for multiclass) or R² on the test split.")
    print("Fit time: pipit as it reports it (around its fit); scikit-learn around `fit`.")
    print("sklearn spread: how far scikit-learn's own mean metric moves when only its")
    print(f"random_state changes ({len(SEED_OFFSETS) + 1} seeds; tree models only).")
    print()
    print("| data set | model | metric | pipit | scikit-learn | Δ | sklearn spread | pipit fit | scikit-learn fit | within 0.02 | fit no slower |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|:-:|:-:|")
    for title, name, task, pm, sm, pf, sf, spread in rows:
        metric = "F1" if task == "classification" else "R²"
        within = "yes" if abs(pm - sm) <= 0.02 or pm > sm else "no"
        faster = "yes" if pf <= sf else "no"
        spread_text = f"{spread:.4f}" if spread else "–"
        print(f"| {title} | {name} | {metric} | {pm:.4f} | {sm:.4f} | {pm - sm:+.4f} | {spread_text} | "
              f"{pf * 1000:.1f} ms | {sf * 1000:.1f} ms | {within} | {faster} |")


main()
