"""pipit's tuner against Optuna's (see bench/tune-vs-optuna)."""

import json
import os
import platform
import subprocess
import sys
import time
import warnings

import lightgbm
import numpy as np
import optuna
import pandas as pd
import sklearn
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import f1_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold

PIPIT, TRIALS, SEEDS, WORK = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
FOLDS = 5
SPACE = """gbm:
  learning_rate: {float: [0.01, 0.3], log: true}
  n_trees: {int: [50, 300], step: 50}
  max_depth: {int: [2, 6]}
"""


def bundled(load):
    def frame():
        return load(as_frame=True).frame
    return frame


def churn():
    """The demo's churn data, generated and cleaned by pipit (train and test
    splits together): 7,043 rows, 16 text columns that the Python models get
    one-hot encoded."""
    folder = os.path.join(WORK, "generated")
    os.makedirs(folder, exist_ok=True)
    raw = os.path.join(folder, "churn.csv")
    subprocess.run([PIPIT, "stage", "generate", "--dataset", "churn", "--rows", "7043",
                    "--seed", "42", "--out", raw], check=True, capture_output=True)
    subprocess.run([PIPIT, "stage", "prepare", "--data", raw, "--target", "Churn", "--task",
                    "classification", "--out-dir", os.path.join(folder, "churn")],
                   check=True, capture_output=True)
    parts = [pd.read_csv(os.path.join(folder, "churn", f)) for f in ("train.csv", "test.csv")]
    frame = pd.concat(parts, ignore_index=True).rename(columns={"Churn": "target"})
    # No → 0, Yes → 1: the positive class is the same for pipit and the libraries.
    frame["target"] = pd.factorize(frame["target"].astype(str), sort=True)[0]
    return frame


DATASETS = [
    ("breast cancer", bundled(datasets.load_breast_cancer), "classification", "F1"),
    ("diabetes", bundled(datasets.load_diabetes), "regression", "R²"),
    ("churn (demo)", churn, "classification", "F1"),
]
optuna.logging.set_verbosity(optuna.logging.WARNING)
# scikit-learn 1.9 warns about its own joblib use on every fit.
warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")


def python_folds(frame, task, seed):
    """The matrix (text columns one-hot), the targets and the seed's folds."""
    x = pd.get_dummies(frame.drop(columns="target"), dtype=float).to_numpy()
    y = frame["target"].to_numpy()
    if task == "classification":
        splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    else:
        splitter = KFold(FOLDS, shuffle=True, random_state=seed)
    return x, y, list(splitter.split(x, y))


def library_folds(library, frame, task, seed):
    """Returns an objective's fold scores for scikit-learn's
    HistGradientBoosting or LightGBM, each at its defaults (31 leaves, 20
    rows a leaf, like pipit's gbm) but for the tuned three, without early
    stopping."""
    x, y, folds = python_folds(frame, task, seed)
    classify = task == "classification"

    def model(params):
        if library == "lightgbm":
            cls = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
            return cls(learning_rate=params["learning_rate"], n_estimators=params["n_trees"],
                       max_depth=params["max_depth"], random_state=seed, verbose=-1)
        cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return cls(learning_rate=params["learning_rate"], max_iter=params["n_trees"],
                   max_depth=params["max_depth"], early_stopping=False, random_state=seed)

    def scores(params):
        for train, test in folds:
            fitted = model(params).fit(x[train], y[train])
            predicted = fitted.predict(x[test])
            yield f1_score(y[test], predicted) if classify else r2_score(y[test], predicted)

    return scores


def pipit_folds(folder, task, seed):
    """Returns an objective's fold scores for pipit's own gbm on pipit's own
    folds: `pipit stage tune` with one trial on a space of single choices
    cross-validates exactly these hyperparameters, with the seed's folds."""

    def scores(params):
        space = os.path.join(folder, f"point-{seed}.yaml")
        with open(space, "w") as file:
            file.write("gbm:\n" + "".join(f"  {k}: {{choice: [{v!r}]}}\n" for k, v in params.items()))
        log = os.path.join(folder, f"point-{seed}.jsonl")
        subprocess.run(
            [
                PIPIT, "stage", "tune", "--train", os.path.join(folder, "data.csv"),
                "--target", "target", "--task", task, "--model", "gbm",
                "--trials", "1", "--folds", str(FOLDS), "--seed", str(seed),
                "--space", space + ":gbm", "--pruner", "none", "--param", "early_stopping=false",
                "--out", os.path.join(folder, f"point-{seed}.json"), "--trials-out", log,
            ],
            check=True,
            capture_output=True,
        )
        with open(log) as file:
            yield from json.loads(file.readline())["fold_scores"]

    return scores


def optuna_best(fold_scores, seed):
    """Optuna's TPE with its median pruner over `fold_scores(params)`, one fold
    per step; returns the best value and the wall time per trial."""

    def objective(trial):
        params = dict(
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            n_trees=trial.suggest_int("n_trees", 50, 300, step=50),
            max_depth=trial.suggest_int("max_depth", 2, 6),
        )
        scores = []
        for step, score in enumerate(fold_scores(params)):
            scores.append(score)
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(),
    )
    started = time.perf_counter()
    study.optimize(objective, n_trials=TRIALS)
    return study.best_value, (time.perf_counter() - started) / TRIALS


def pipit_best(folder, task, seed, sampler):
    out = os.path.join(folder, f"best-{sampler}-{seed}.json")
    trials = os.path.join(folder, f"trials-{sampler}-{seed}.jsonl")
    started = time.perf_counter()
    subprocess.run(
        [
            PIPIT, "stage", "tune", "--train", os.path.join(folder, "data.csv"),
            "--target", "target", "--task", task, "--model", "gbm",
            "--trials", str(TRIALS), "--folds", str(FOLDS), "--seed", str(seed),
            "--space", os.path.join(folder, "space.yaml") + ":gbm", "--sampler", sampler,
            "--param", "early_stopping=false",
            "--out", out, "--trials-out", trials,
        ],
        check=True,
        capture_output=True,
    )
    seconds = (time.perf_counter() - started) / TRIALS
    with open(trials) as file:
        values = [json.loads(line) for line in file]
    best = max(t["value"] for t in values if t["state"] == "complete")
    return best, seconds


def main():
    print(f"# pipit tune vs Optuna {optuna.__version__} (scikit-learn {sklearn.__version__}, "
          f"LightGBM {lightgbm.__version__})")
    print()
    print(f"{platform.node()}, {os.cpu_count()} cores; gradient boosting, {FOLDS}-fold CV, "
          f"median pruner, {TRIALS} trials, means over {SEEDS} seeds.")
    print("Best CV score: the mean over folds of the best completed trial.")
    print()
    print("- *same model*: both samplers tune pipit's gbm on pipit's folds (Optuna's objective")
    print("  runs `pipit stage tune` on the one point it proposes), so only the sampler differs;")
    print("- *scikit-learn*, *LightGBM*: Optuna tunes HistGradientBoosting or LightGBM on")
    print("  scikit-learn's folds, as the project's users do today. Every model is at its")
    print("  defaults but for the three tuned (31 leaves, 20 rows a leaf at least), without")
    print("  early stopping; text columns are one-hot encoded for the Python models.")
    print()
    print("Time per trial: the whole search's wall time divided by the trials (pipit includes")
    print("reading the data and runs two trials at once; Optuna runs one at a time, and")
    print("HistGradientBoosting and LightGBM use both cores within a fit).")
    print()
    print("| data set | metric | pipit TPE | pipit random | Optuna TPE, same model | "
          "Optuna TPE, scikit-learn | Optuna TPE, LightGBM | pipit s/trial | "
          "Optuna + scikit-learn s/trial | Optuna + LightGBM s/trial |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    paired = []
    for title, load, task, metric in DATASETS:
        folder = os.path.join(WORK, title.replace(" ", "-"))
        os.makedirs(folder, exist_ok=True)
        frame = load()
        frame.to_csv(os.path.join(folder, "data.csv"), index=False)
        with open(os.path.join(folder, "space.yaml"), "w") as file:
            file.write(SPACE)
        results = {"tpe": [], "random": [], "same": [], "sklearn": [], "lightgbm": []}
        times = {"tpe": [], "sklearn": [], "lightgbm": []}
        for seed in range(SEEDS):
            best, seconds = pipit_best(folder, task, seed, "tpe")
            results["tpe"].append(best)
            times["tpe"].append(seconds)
            results["random"].append(pipit_best(folder, task, seed, "random")[0])
            results["same"].append(optuna_best(pipit_folds(folder, task, seed), seed)[0])
            for library in ("sklearn", "lightgbm"):
                best, seconds = optuna_best(library_folds(library, frame, task, seed), seed)
                results[library].append(best)
                times[library].append(seconds)
            print(f"<!-- {title} seed {seed}: "
                  + ", ".join(f"{k} {v[-1]:.4f}" for k, v in results.items()) + " -->",
                  flush=True)
        mean = {k: float(np.mean(v)) for k, v in results.items()}
        print(f"| {title} | {metric} | {mean['tpe']:.4f} | {mean['random']:.4f} | "
              f"{mean['same']:.4f} | {mean['sklearn']:.4f} | {mean['lightgbm']:.4f} | "
              f"{np.mean(times['tpe']):.3f} | {np.mean(times['sklearn']):.3f} | "
              f"{np.mean(times['lightgbm']):.3f} |", flush=True)
        paired.append((title, results))
    print()
    print("Paired by seed (on the same model, a seed gives both samplers the same folds): pipit")
    print("TPE minus the other, mean ± standard error, and how often pipit TPE was ahead / level /")
    print("behind.")
    print()
    print("| data set | − pipit random | − Optuna TPE, same model | − Optuna TPE, scikit-learn | "
          "− Optuna TPE, LightGBM |")
    print("|---|---:|---:|---:|---:|")
    for title, results in paired:
        cells = []
        for other in ("random", "same", "sklearn", "lightgbm"):
            diff = np.array(results["tpe"]) - np.array(results[other])
            error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            ahead, level = int((diff > 0).sum()), int((diff == 0).sum())
            cells.append(f"{diff.mean():+.4f} ± {error:.4f} ({ahead}/{level}/{len(diff) - ahead - level})")
        print(f"| {title} | " + " | ".join(cells) + " |")


main()
