"""pipit's tuner against Optuna's (see bench/tune-vs-optuna)."""

import json
import os
import platform
import subprocess
import sys
import time

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


def optuna_best(frame, task, seed):
    x, y = frame.drop(columns="target").to_numpy(), frame["target"].to_numpy()
    if task == "classification":
        splitter = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    else:
        splitter = KFold(FOLDS, shuffle=True, random_state=seed)
    folds = list(splitter.split(x, y))

    def objective(trial):
        params = dict(
            learning_rate=trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            max_iter=trial.suggest_int("n_trees", 50, 300, step=50),
            max_depth=trial.suggest_int("max_depth", 2, 6),
            min_samples_leaf=1,
            early_stopping=False,
        )
        scores = []
        for step, (train, test) in enumerate(folds):
            if task == "classification":
                model = HistGradientBoostingClassifier(**params).fit(x[train], y[train])
                scores.append(f1_score(y[test], model.predict(x[test])))
            else:
                model = HistGradientBoostingRegressor(**params).fit(x[train], y[train])
                scores.append(r2_score(y[test], model.predict(x[test])))
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
    print("Time per trial: the whole search's wall time divided by the trials "
          "(pipit includes reading the data; both run their default parallelism).")
    print()
    print("| data set | metric | pipit TPE | pipit random | Optuna TPE | pipit s/trial | Optuna s/trial |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for title, load, task, metric in DATASETS:
        folder = os.path.join(WORK, title.replace(" ", "-"))
        os.makedirs(folder, exist_ok=True)
        frame = load(as_frame=True).frame
        frame.to_csv(os.path.join(folder, "data.csv"), index=False)
        with open(os.path.join(folder, "space.yaml"), "w") as file:
            file.write(SPACE)
        results = {"tpe": [], "random": [], "optuna": []}
        times = {"tpe": [], "optuna": []}
        for seed in range(SEEDS):
            best, seconds = pipit_best(folder, task, seed, "tpe")
            results["tpe"].append(best)
            times["tpe"].append(seconds)
            results["random"].append(pipit_best(folder, task, seed, "random")[0])
            best, seconds = optuna_best(frame, task, seed)
            results["optuna"].append(best)
            times["optuna"].append(seconds)
        mean = {k: float(np.mean(v)) for k, v in results.items()}
        print(f"| {title} | {metric} | {mean['tpe']:.4f} | {mean['random']:.4f} | "
              f"{mean['optuna']:.4f} | {np.mean(times['tpe']):.3f} | {np.mean(times['optuna']):.3f} |")


main()
