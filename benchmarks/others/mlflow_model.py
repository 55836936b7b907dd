"""Save the bake's model file as an MLflow model, for ``mlflow models serve``.

    python mlflow_model.py VERSION_DIR OUTPUT_DIR   (in MLflow's venv; run by compare.py)

The signature names the features, so MLflow's server takes the same records as the bake.
"""

import json
import sys
from pathlib import Path

import joblib
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature

version_dir, output = Path(sys.argv[1]), Path(sys.argv[2])
model = joblib.load(version_dir / "model.joblib")
features = json.loads((version_dir / "metadata.json").read_text())["features"]
example = pd.DataFrame([dict.fromkeys(features, 1.0)])
signature = infer_signature(example, model.predict(example.to_numpy()))
# MLflow saves with skops, which trusts no tree by default: this benchmark made the forest itself.
trusted = ["sklearn.tree._tree.Tree"]
mlflow.sklearn.save_model(model, str(output), signature=signature, skops_trusted_types=trusted)
