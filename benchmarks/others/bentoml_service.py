"""BentoML 1.4 serving the same model file as the bake, the way its quick start does.

Run by compare.py with ``bentoml serve bentoml_service:Classifier`` in a venv of its own;
BARE_MODEL_DIR is the model store's version folder (model.joblib and metadata.json).
"""

import json
import os
from pathlib import Path

import bentoml
import joblib
import numpy as np

VERSION_DIR = Path(os.environ["BARE_MODEL_DIR"])
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


@bentoml.service(workers=WORKERS)
class Classifier:
    def __init__(self) -> None:
        self.model = joblib.load(VERSION_DIR / "model.joblib")
        self.features = json.loads((VERSION_DIR / "metadata.json").read_text())["features"]
        self.names = [str(name) for name in self.model.classes_.tolist()]

    @bentoml.api
    def predict(self, instances: list[dict[str, float]]) -> dict:
        rows = [[row[name] for name in self.features] for row in instances]
        probabilities = self.model.predict_proba(np.array(rows, dtype=float))
        labels = self.model.classes_[probabilities.argmax(axis=1)].tolist()
        return {
            "predictions": [
                {"label": label, "probabilities": dict(zip(self.names, row, strict=True))}
                for label, row in zip(labels, probabilities.tolist(), strict=True)
            ]
        }
