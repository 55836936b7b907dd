"""The baseline: a bare Flask route doing the same prediction as the baked service.

No validation, no error envelope, no request ids, no logging, no integrity check: what a
notebook-to-Flask tutorial would write. The benchmark serves it with the same gunicorn
settings as the service.
"""

import json
import os
from pathlib import Path

import joblib
import numpy as np
from flask import Flask, jsonify, request

VERSION_DIR = Path(os.environ["BARE_MODEL_DIR"])
FEATURES = json.loads((VERSION_DIR / "metadata.json").read_text())["features"]
model = joblib.load(VERSION_DIR / "model.joblib")
classes = model.classes_
names = [str(name) for name in classes.tolist()]

app = Flask(__name__)


@app.post("/v1/predict")
def predict():
    rows = request.get_json()["instances"]
    features = np.array([[row[name] for name in FEATURES] for row in rows], dtype=float)
    probabilities = model.predict_proba(features)
    labels = classes[probabilities.argmax(axis=1)].tolist()
    predictions = [
        {"label": label, "probabilities": dict(zip(names, row, strict=True))}
        for label, row in zip(labels, probabilities.tolist(), strict=True)
    ]
    return jsonify(predictions=predictions)
