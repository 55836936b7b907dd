"""The bakes the template is tested with: a covering set with readable ids.

Derived from cookiecutter.json's choices and local_extensions.SERIALIZERS, so a framework or a
format added there is baked here. Every value of every prompt is baked at least once, every
framework with every task and each of its serializers ("auto" included), and scikit-learn's
formats with each task (tests/test_combos.py checks all of it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from local_extensions import SERIALIZERS

#: Each choice prompt of cookiecutter.json and its values, the default first.
CHOICES: dict[str, list[str]] = {
    name: value
    for name, value in json.loads(
        (Path(__file__).resolve().parent.parent / "cookiecutter.json").read_text(encoding="utf-8")
    ).items()
    if isinstance(value, list) and not name.startswith("_")
}

IRIS = "sepal_length,sepal_width,petal_length,petal_width"
# Every type of feature, in both tasks; spaces around commas and colons are trimmed.
CUSTOM = {
    "classification": "age:int,income,tenure_months:int,plan:category,is_active:bool",
    "regression": "rooms: int, floor_area,age_years, neighborhood:category, has_garden : bool",
}


@dataclass(frozen=True)
class Combo:
    """One bake: its id and the answers it gives (the rest are the defaults)."""

    id: str
    context: dict[str, str] = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        """The model's folder in the store: the answer, or the project's slug, as derived."""
        from slugify import slugify  # cookiecutter's own slugify, as the template uses it

        return self.context.get("model_name") or slugify(
            self.context.get("project_name", "Iris Classifier")
        )

    @property
    def framework(self) -> str:
        return self.context.get("framework", "sklearn")

    @property
    def python_version(self) -> str:
        return self.context.get("python_version", "3.11")

    @property
    def monitoring_stack(self) -> bool:
        return self.context.get("monitoring_stack", "compose") == "compose"

    @property
    def container(self) -> bool:
        return self.context.get("container", "docker") == "docker"

    @property
    def kubernetes(self) -> bool:
        return self.context.get("kubernetes", "manifests") == "manifests"

    @property
    def kserve(self) -> bool:
        return self.context.get("kubernetes", "manifests") == "kserve"

    @property
    def ci(self) -> bool:
        return self.context.get("ci", "github") == "github"

    @property
    def cruft_check(self) -> bool:
        return self.context.get("template_updates", "none") == "cruft"

    @property
    def api_key(self) -> bool:
        return self.context.get("auth", "none") == "api_key"


def _combos() -> list[Combo]:
    combos = [Combo("default")]
    # scikit-learn, the default framework: each format with each task, since pickle and joblib
    # load through different code.
    for serializer, task in product(["auto", *SERIALIZERS["sklearn"]], CHOICES["task"]):
        if (serializer, task) == ("auto", "classification"):
            continue  # that is the default bake
        iris = serializer == "joblib" and task == "classification"
        features = IRIS if iris else CUSTOM[task]
        name = f"{task[:5]} {serializer} model"
        combos.append(
            Combo(
                f"sklearn-{serializer}-{task}-{'iris' if iris else 'custom'}",
                {
                    "project_name": name.title(),
                    "model_name": f"{task[:5]}-{serializer}",
                    "framework": "sklearn",
                    "serializer": serializer,
                    "task": task,
                    "features": features,
                    # pickle bakes take the deployment options' other values: no monitoring
                    # stack, and (for classification) no container or Kubernetes either,
                    # whose workflow then has no image job.
                    **({"monitoring_stack": "none"} if serializer == "pickle" else {}),
                    **(
                        {"container": "none", "kubernetes": "none"}
                        if (serializer, task) == ("pickle", "classification")
                        else {}
                    ),
                    # Newer Pythons for the image and the workflows, and the template
                    # updates' workflow.
                    **(
                        {"python_version": "3.13", "template_updates": "cruft"}
                        if serializer == "joblib"
                        else {}
                    ),
                    # API keys, with every deployment file that takes one.
                    **(
                        {"auth": "api_key"}
                        if (serializer, task) == ("joblib", "regression")
                        else {}
                    ),
                },
            )
        )
    # Every other framework: each of its formats ("auto" and the explicit ones) and each task,
    # in as few bakes as cover them, paired by rotation. The rotation shifts by one from one
    # framework to the next, so "auto" meets each task somewhere.
    others = [framework for framework in CHOICES["framework"] if framework != "sklearn"]
    tasks = CHOICES["task"]
    for shift, framework in enumerate(others):
        formats = ["auto", *SERIALIZERS[framework]]
        for index in range(max(len(formats), len(tasks))):
            serializer = formats[(index + shift) % len(formats)]
            task = tasks[index % len(tasks)]
            iris = task == "classification"
            combos.append(
                Combo(
                    f"{framework}-{serializer}-{task}-{'iris' if iris else 'custom'}",
                    {
                        "project_name": f"{framework} {task[:5]} service".title(),
                        **({} if iris else {"model_name": f"{framework}-{task[:5]}"}),
                        "framework": framework,
                        "serializer": serializer,
                        "task": task,
                        "features": IRIS if iris else CUSTOM[task],
                        "python_version": "3.11" if iris else "3.12",
                        # API keys on a bake that serves through an explicit format, deployed
                        # by KServe (with the key's Secret mounted).
                        **(
                            {"auth": "api_key", "kubernetes": "kserve"}
                            if serializer == "torch_state_dict"
                            else {}
                        ),
                    },
                )
            )
    combos.append(
        Combo(
            "sklearn-one-feature-long-names",
            {
                "project_name": "Customer Lifetime Value Estimation Service",
                "package_name": "customer_lifetime_value_estimation_service",
                "model_name": "customer.lifetime_value-v2",
                "task": "regression",
                "features": "x",
                "monitoring_stack": "none",
                "kubernetes": "none",
                "ci": "none",
            },
        )
    )
    return combos


COMBOS = _combos()
DEFAULT = COMBOS[0]
#: The bakes the end-to-end tests serve under gunicorn: one per framework, on the iris data.
SERVED = [DEFAULT, *(c for c in COMBOS if c.framework != "sklearn" and c.id.endswith("-iris"))]
