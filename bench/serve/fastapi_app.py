"""The FastAPI + scikit-learn server `bench/serve-vs-fastapi.sh` compares
`pipit serve` with: the same models (gradient boosting for churn, a random
forest for housing, with pipit's hyperparameters) trained on the same
prepared data, behind `POST /predict/{dataset}` with a pydantic model per
data set, as such a server is usually written.

    PIPIT_DATA=data uvicorn fastapi_app:app --workers 2
"""

import os
from typing import Literal, Optional

import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import create_model
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

DATA = os.environ.get("PIPIT_DATA", "data")
TARGETS = {"churn": "Churn", "housing": "MedHouseVal"}


def fit(dataset):
    frame = pd.read_csv(f"{DATA}/{dataset}/prepared/train.csv")
    target = TARGETS[dataset]
    y = frame.pop(target)
    categories = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numbers = [c for c in frame.columns if c not in categories]
    prepare = ColumnTransformer([
        ("numbers", SimpleImputer(strategy="median"), numbers),
        ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                     OneHotEncoder(handle_unknown="ignore")), categories),
    ])
    if dataset == "churn":
        estimator = GradientBoostingClassifier(n_estimators=200, learning_rate=0.1, max_depth=3,
                                               random_state=42)
    else:
        estimator = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, random_state=42,
                                          n_jobs=1)
    model = Pipeline([("prepare", prepare), ("model", estimator)]).fit(frame, y)
    fields = {}
    for column in numbers:
        fields[column] = (Optional[float], ...)
    for column in categories:
        allowed = tuple(sorted(frame[column].dropna().unique()))
        fields[column] = (Optional[Literal[allowed]], ...)
    return model, create_model(f"{dataset.title()}Record", **fields), list(frame.columns)


MODELS = {dataset: fit(dataset) for dataset in TARGETS}
app = FastAPI()


def predict(dataset, record):
    model, _, columns = MODELS[dataset]
    row = pd.DataFrame([record.model_dump()], columns=columns)
    if dataset == "churn":
        probabilities = model.predict_proba(row)[0]
        classes = list(model.classes_)
        best = int(probabilities.argmax())
        return {"prediction": classes[best],
                "probabilities": dict(zip(classes, map(float, probabilities)))}
    return {"prediction": float(model.predict(row)[0])}


@app.post("/predict/churn")
def predict_churn(record: MODELS["churn"][1]):
    return predict("churn", record)


@app.post("/predict/housing")
def predict_housing(record: MODELS["housing"][1]):
    return predict("housing", record)


@app.get("/health")
def health():
    if not MODELS:
        raise HTTPException(503)
    return {"status": "ok"}
