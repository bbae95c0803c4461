"""pipit's tuner against Optuna's (see bench/tune-vs-optuna)."""

import json
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np
import optuna
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
DATASETS = [
    ("breast cancer", datasets.load_breast_cancer, "classification", "F1"),
    ("diabetes", datasets.load_diabetes, "regression", "R²"),
]
optuna.logging.set_verbosity(optuna.logging.WARNING)
# scikit-learn 1.9 warns about its own joblib use on every fit.
warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")


def sklearn_folds(frame, task, seed):
    """Returns an objective's fold scores for scikit-learn's HistGradientBoosting."""
    x, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
    if task == "classification":
        splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    else:
        splitter = KFold(FOLDS, shuffle=True, random_state=seed)
    folds = list(splitter.split(x, y))

    def scores(params):
        model_params = dict(
            learning_rate=params["learning_rate"],
            max_iter=params["n_trees"],
            max_depth=params["max_depth"],
            min_samples_leaf=1,
            early_stopping=False,
        )
        for train, test in folds:
            if task == "classification":
                model = HistGradientBoostingClassifier(**model_params).fit(x[train], y[train])
                yield f1_score(y[test], model.predict(x[test]))
            else:
                model = HistGradientBoostingRegressor(**model_params).fit(x[train], y[train])
                yield r2_score(y[test], model.predict(x[test]))

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
                "--space", space + ":gbm", "--pruner", "none",
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
    print(f"# pipit tune vs Optuna {optuna.__version__} (scikit-learn {sklearn.__version__})")
    print()
    print(f"{platform.node()}, {os.cpu_count()} cores; gradient boosting, {FOLDS}-fold CV, "
          f"median pruner, {TRIALS} trials, means over {SEEDS} seeds.")
    print("Best CV score: the mean over folds of the best completed trial.")
    print()
    print("- *same model*: both samplers tune pipit's gbm on pipit's folds (Optuna's objective")
    print("  runs `pipit stage tune` on the one point it proposes), so only the sampler differs;")
    print("- *scikit-learn*: Optuna tunes HistGradientBoosting on scikit-learn's folds, as the")
    print("  project's users do today.")
    print()
    print("Time per trial: the whole search's wall time divided by the trials (pipit includes")
    print("reading the data; both run their default parallelism).")
    print()
    print("| data set | metric | pipit TPE | pipit random | Optuna TPE, same model | "
          "Optuna TPE, scikit-learn | pipit s/trial | Optuna + scikit-learn s/trial |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    paired = []
    for title, load, task, metric in DATASETS:
        folder = os.path.join(WORK, title.replace(" ", "-"))
        os.makedirs(folder, exist_ok=True)
        frame = load(as_frame=True).frame
        frame.to_csv(os.path.join(folder, "data.csv"), index=False)
        with open(os.path.join(folder, "space.yaml"), "w") as file:
            file.write(SPACE)
        results = {"tpe": [], "random": [], "same": [], "sklearn": []}
        times = {"tpe": [], "sklearn": []}
        for seed in range(SEEDS):
            best, seconds = pipit_best(folder, task, seed, "tpe")
            results["tpe"].append(best)
            times["tpe"].append(seconds)
            results["random"].append(pipit_best(folder, task, seed, "random")[0])
            results["same"].append(optuna_best(pipit_folds(folder, task, seed), seed)[0])
            best, seconds = optuna_best(sklearn_folds(frame, task, seed), seed)
            results["sklearn"].append(best)
            times["sklearn"].append(seconds)
            print(f"<!-- {title} seed {seed}: "
                  + ", ".join(f"{k} {v[-1]:.4f}" for k, v in results.items()) + " -->",
                  flush=True)
        mean = {k: float(np.mean(v)) for k, v in results.items()}
        print(f"| {title} | {metric} | {mean['tpe']:.4f} | {mean['random']:.4f} | "
              f"{mean['same']:.4f} | {mean['sklearn']:.4f} | {np.mean(times['tpe']):.3f} | "
              f"{np.mean(times['sklearn']):.3f} |", flush=True)
        paired.append((title, results))
    print()
    print("Paired by seed (on the same model, a seed gives both samplers the same folds): pipit")
    print("TPE minus the other, mean ± standard error, and how often pipit TPE was ahead / level /")
    print("behind.")
    print()
    print("| data set | − pipit random | − Optuna TPE, same model | − Optuna TPE, scikit-learn |")
    print("|---|---:|---:|---:|")
    for title, results in paired:
        cells = []
        for other in ("random", "same", "sklearn"):
            diff = np.array(results["tpe"]) - np.array(results[other])
            error = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            ahead, level = int((diff > 0).sum()), int((diff == 0).sum())
            cells.append(f"{diff.mean():+.4f} ± {error:.4f} ({ahead}/{level}/{len(diff) - ahead - level})")
        print(f"| {title} | " + " | ".join(cells) + " |")


main()
