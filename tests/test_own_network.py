"""Slow layer: a network of another shape, put in model/network.py as the bake's README says, trains with
train-example and passes the bake's whole test suite, for PyTorch and for TensorFlow.

Only model/network.py changes: the network (constructor arguments, layers, no standardisation buffers
of the example's) and build_network, the one function training calls.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from pathlib import Path

import pytest

from background import SETUP, in_background
from bakery import clean_env, package_name, run
from combos import COMBOS, Combo

pytestmark = pytest.mark.slow

PYTORCH_CLASSIFIER = '''

class Network(nn.Module):
    """Layer normalisation, GELU and dropout, of any widths: not the example's MLP."""

    def __init__(
        self, n_inputs: int, n_outputs: int, widths: Sequence[int] = (24, 24), dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.hyperparameters = {
            "n_inputs": n_inputs,
            "n_outputs": n_outputs,
            "widths": list(widths),
            "dropout": dropout,
        }
        layers: list[nn.Module] = [nn.LayerNorm(n_inputs)]
        size = n_inputs
        for width in widths:
            layers += [nn.Linear(size, width), nn.GELU(), nn.Dropout(dropout)]
            size = width
        layers.append(nn.Linear(size, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.layers(inputs)


def build_network(inputs: torch.Tensor, n_outputs: int) -> Network:
    return Network(n_inputs=inputs.shape[1], n_outputs=n_outputs, widths=(24, 16, 8))


'''
TENSORFLOW_REGRESSOR = '''

def build_network(
    inputs: np.ndarray, targets: np.ndarray, widths: Sequence[int] = (16, 16)
) -> keras.Model:
    """A wide and a deep branch, merged, with dropout: Keras' functional API, not a Sequential."""
    features = keras.Input(shape=(inputs.shape[1],), name="features")
    standardise = keras.layers.Normalization()
    standardise.adapt(inputs)
    scaled = standardise(features)
    wide = keras.layers.Dense(widths[0], activation="tanh")(scaled)
    deep = scaled
    for width in widths:
        deep = keras.layers.Dense(width, activation="relu")(deep)
    merged = keras.layers.Dropout(0.1)(keras.layers.Concatenate()([wide, deep]))
    value = keras.layers.Dense(1)(merged)
    value = keras.layers.Rescaling(float(targets.std()) or 1.0, float(targets.mean()))(value)
    return keras.Model(features, value)


'''
# (combination, the code put in model/network.py between its imports and its Model class)
NETWORKS = [
    ("pytorch-auto-classification-iris", PYTORCH_CLASSIFIER),
    ("tensorflow-auto-regression-custom", TENSORFLOW_REGRESSOR),
]


def with_network(network_py: Path, code: str) -> None:
    """Replace everything between network.py's imports and its Model dataclass with ``code``."""
    text = network_py.read_text()
    start = text.index("\n\n", text.index("from .encoding import check_vocabulary"))
    end = text.index("@dataclass(frozen=True)")
    network_py.write_text(f"{text[:start]}\n\n\n{code.strip()}\n\n\n{text[end:]}")


@pytest.fixture(scope="module")
def trained_and_tested(
    bake: Callable[[Combo], Path],
    project_venv: Callable[[Path], Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Future[tuple[str, str]]]]:
    """Each network's project: train-example's output and its suite's, from both run at once
    in the background."""

    def train_and_test(project: Path, models: Path) -> tuple[str, str]:
        with SETUP:  # making a venv
            python = str(project_venv(project) / "bin" / "python")
        run([python, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
        env = clean_env(PYTHONPATH=str(project / "src"), MODEL_STORE=str(models))
        trained = run([python, "-m", package_name(project), "train-example"], cwd=project, env=env)
        test = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        return trained, run(test, cwd=project, env=env, timeout=1200)

    projects = {}
    for combo_id, code in NETWORKS:  # copied here, in this thread
        scratch = tmp_path_factory.mktemp(combo_id)
        combo = next(combo for combo in COMBOS if combo.id == combo_id)
        project = scratch / "project"
        shutil.copytree(bake(combo), project)
        with_network(project / "src" / package_name(project) / "model" / "network.py", code)
        projects[combo_id] = (project, scratch / "models")
    jobs = {name: partial(train_and_test, *paths) for name, paths in projects.items()}
    with in_background(jobs) as futures:
        yield futures


@pytest.mark.parametrize("combo_id", [combo for combo, _ in NETWORKS])
def test_a_network_of_another_shape_trains_and_passes_the_suite(
    combo_id: str, trained_and_tested: dict[str, Future[tuple[str, str]]]
) -> None:
    trained, suite = trained_and_tested[combo_id].result()
    assert "production -> 1" in trained
    assert " passed" in suite
    assert " failed" not in suite
