"""Write each framework and task's example notebook, notebooks/train.ipynb, from one source.

    .venv/bin/python scripts/generate_notebooks.py          rewrite the notebooks
    .venv/bin/python scripts/generate_notebooks.py --check  exit 1 if one is out of date

The notebooks live under {{cookiecutter.project_slug}}/_variants/framework-task/<framework>-<task>/
and are baked like any file: only the package and project names are Jinja. Their cells use the
bake's own feature lists, so one notebook fits every answer to the features prompt. Each bake's
tests run its notebook from top to bottom against the served model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "{{cookiecutter.project_slug}}" / "_variants" / "framework-task"
PACKAGE = "{{ cookiecutter.package_name }}"

INTRO = f"""# Train the model, register it, and ask the service

This notebook goes from data to a served model: load the data, fit, check on a holdout,
register the fitted model with `register()`, and call the running service.

Run it in the project's kernel (`make kernel`, then pick **{{{{ cookiecutter.project_slug }}}}**):
it has the service's own libraries, so the model loads there exactly as here. Start the
service first in a terminal (`make serve`) for the last cells.

The data below is the example data; put your own in its place: a DataFrame with a column per
feature (`{PACKAGE}.model.features.FEATURE_TYPES` lists them, with their types) and one of the true
outcome."""

LOAD = f"""import contextlib
import json
import os
import time
import urllib.error
import urllib.request

import pandas as pd

from {PACKAGE} import register
from {PACKAGE}.model.example_data import TARGET, load_example_data
from {PACKAGE}.model.features import FEATURES

records, targets = load_example_data()
df = pd.DataFrame(records, columns=list(FEATURES)).assign(**{{TARGET: targets}})
df.head()"""

SPLIT = """# Keep a fifth of the data out of training: the holdout the metrics are measured on.
test_df = df.sample(frac=0.2, random_state=0)
train_df = df.drop(test_df.index)
len(train_df), len(test_df)"""

# Templates for str.format(); the package's Jinja name goes in after, as __PACKAGE__.
FIT = {
    "sklearn": """from sklearn.compose import make_column_transformer
from sklearn.linear_model import {estimator_class}
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from __PACKAGE__.model.features import BOOLEAN, CATEGORICAL, NUMERIC

# A pipeline fitted on a DataFrame: its first step chooses the columns by name. The service
# hands such a model a DataFrame with the same columns at every request.
model = make_pipeline(
    make_column_transformer(
        (StandardScaler(), list(NUMERIC)),
        ("passthrough", list(BOOLEAN)),
        (OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
    ),
    {estimator},
)
model.fit(train_df[list(FEATURES)], train_df[TARGET])""",
    "pytorch": """{imports}import torch
from torch import nn

from __PACKAGE__.model.encoding import encode, vocabulary
from __PACKAGE__.model.network import Model, build_network

# The network is network.Network (edit model/network.py for your own); encode() turns
# records into its float32 input, each category one-hot over the values of the training data.
torch.manual_seed(0)
train_records = train_df[list(FEATURES)].to_dict("records")
categories = vocabulary(train_records)
inputs = torch.from_numpy(encode(train_records, categories))
{targets}
network = build_network(inputs, {build_argument})
optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
loss = {loss}
network.train()
for _ in range(300):
    optimizer.zero_grad()
    loss({outputs}, answers).backward()
    optimizer.step()
network.eval()
model = Model({model_arguments})""",
    "tensorflow": """import keras
{imports}
from __PACKAGE__.model.encoding import encode, vocabulary
from __PACKAGE__.model.network import Model, build_network

# The network is network.build_network's (edit model/network.py for your own); encode()
# turns records into its float32 input, each category one-hot over the values of the training data.
keras.utils.set_random_seed(0)
train_records = train_df[list(FEATURES)].to_dict("records")
categories = vocabulary(train_records)
inputs = encode(train_records, categories)
{targets}
network = build_network(inputs, {build_argument})
network.compile(optimizer=keras.optimizers.Adam(0.01), loss="{loss}")
network.fit(inputs, answers, epochs=200, batch_size=len(inputs), verbose=0)
model = Model({model_arguments})""",
}
# What differs by task in the neural networks' training cells.
NETWORK_TASK = {
    "pytorch": {
        "classification": {
            "imports": "import numpy as np\n",
            "targets": "classes, labels = np.unique(train_df[TARGET], return_inverse=True)\n"
            "answers = torch.from_numpy(labels)",
            "build_argument": "n_outputs=len(classes)",
            "loss": "nn.CrossEntropyLoss()",
            "outputs": "network(inputs)",
            "model_arguments": "network, classes.tolist(), categories",
        },
        "regression": {
            "imports": "",
            "targets": "answers = torch.tensor(train_df[TARGET].to_numpy(), dtype=torch.float32)",
            "build_argument": "answers",
            "loss": "nn.MSELoss()",
            "outputs": "network(inputs).reshape(-1)",
            "model_arguments": "network, categories",
        },
    },
    "tensorflow": {
        "classification": {
            "imports": "import numpy as np\n",
            "targets": "classes, answers = np.unique(train_df[TARGET], return_inverse=True)",
            "build_argument": "n_outputs=len(classes)",
            "loss": "sparse_categorical_crossentropy",
            "model_arguments": "network, classes.tolist(), categories",
        },
        "regression": {
            "imports": "",
            "targets": 'answers = train_df[TARGET].to_numpy(dtype="float32")',
            "build_argument": "answers",
            "loss": "mean_squared_error",
            "model_arguments": "network, categories",
        },
    },
}
ESTIMATORS = {
    "classification": ("LogisticRegression", "LogisticRegression(max_iter=1000)"),
    "regression": ("Ridge", "Ridge(alpha=1.0)"),
}
EVALUATE = {
    "classification": f"""from {PACKAGE}.model.predict import predict

# Through the service's own predict path, as registration measures it.
answers = predict(model, test_df[list(FEATURES)].to_dict("records"))
accuracy = sum(
    str(answer["label"]) == str(actual)
    for answer, actual in zip(answers, test_df[TARGET], strict=True)
) / len(test_df)
print(f"holdout accuracy: {{accuracy:.3f}}")""",
    "regression": f"""from {PACKAGE}.model.predict import predict

# Through the service's own predict path, as registration measures it.
answers = predict(model, test_df[list(FEATURES)].to_dict("records"))
pairs = zip(answers, test_df[TARGET], strict=True)
errors = [abs(answer["value"] - actual) for answer, actual in pairs]
print(f"holdout MAE: {{sum(errors) / len(errors):.3f}}")""",
}
REGISTER_TEXT = """## Register it

`register()` saves the model as the service does, loads it back, measures it on the holdout
through the service's own predict path, and adds it to the model store (`MODEL_STORE`, by
default the project's `models/`). `promote=True` points `production` at it: the running
service follows within about a second."""
REGISTER = """version = register(
    model,
    train_df,
    target=TARGET,
    eval_data=test_df,
    notes="from notebooks/train.ipynb",
    promote=True,
)"""
CALL_TEXT = """## Ask the service

The service (`make serve`, or `SERVICE_URL`) answers with the version it served: the new one
once every worker has followed the alias.{% if cookiecutter.auth == 'api_key' %} `API_KEY` holds the key it asks for.{% endif %}"""
CALL = """SERVICE = os.environ.get("SERVICE_URL", "http://127.0.0.1:8000")
HEADERS = {"Content-Type": "application/json"{% if cookiecutter.auth == 'api_key' %}, "X-API-Key": os.environ["API_KEY"]{% endif %}}
instances = json.loads(test_df[list(FEATURES)].head(3).to_json(orient="records"))


def predict_remotely(instances):
    body = json.dumps({"instances": instances}).encode()
    request = urllib.request.Request(f"{SERVICE}/v1/predict", data=body, headers=HEADERS)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


answer, deadline = None, time.monotonic() + 30
while answer is None or answer["model"]["version"] != str(version):
    if time.monotonic() > deadline:
        raise RuntimeError(f"{SERVICE} does not serve version {version}: is `make serve` running?")
    with contextlib.suppress(urllib.error.URLError):  # not started, or no model ready yet
        answer = predict_remotely(instances)
    time.sleep(0.2)
print(json.dumps(answer, indent=2))"""


def _cell(kind: str, source: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell |= {"execution_count": None, "outputs": []}
    return cell


def notebook(framework: str, task: str) -> str:
    """The notebook of one framework and task, as the JSON text of an .ipynb file."""
    if framework == "sklearn":
        estimator_class, estimator = ESTIMATORS[task]
        fit = FIT["sklearn"].format(estimator_class=estimator_class, estimator=estimator)
    else:
        fit = FIT[framework].format(**{"outputs": "", **NETWORK_TASK[framework][task]})
    fit = fit.replace("__PACKAGE__", PACKAGE)  # after format(), which would take its braces
    cells = [
        _cell("markdown", INTRO),
        _cell("code", LOAD),
        _cell("code", SPLIT),
        _cell("markdown", "## Fit and check on the holdout"),
        _cell("code", fit),
        _cell("code", EVALUATE[task]),
        _cell("markdown", REGISTER_TEXT),
        _cell("code", REGISTER),
        _cell("markdown", CALL_TEXT),
        _cell("code", CALL),
    ]
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {
                "display_name": "{{ cookiecutter.project_slug }} (the service's libraries)",
                "language": "python",
                "name": "{{ cookiecutter.project_slug }}",
            },
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook is stale")
    check = parser.parse_args().check
    stale = []
    for framework in ("sklearn", "pytorch", "tensorflow"):
        for task in ("classification", "regression"):
            path = VARIANTS / f"{framework}-{task}" / "notebooks" / "train.ipynb"
            text = notebook(framework, task)
            if check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(path.relative_to(ROOT))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    for path in stale:
        print(f"{path} is out of date: run scripts/generate_notebooks.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
