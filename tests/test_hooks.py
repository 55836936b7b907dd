"""The hooks: refusals before anything is written, and the variant files put in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from hook_loader import default_answers, load_hook
from local_extensions import feature_types

# (answers, a phrase of the one-line refusal)
REFUSALS = [
    ({"project_slug": "1st-model", "package_name": "m"}, "project_slug '1st-model' is not valid"),
    ({"project_slug": "iris_classifier"}, "project_slug 'iris_classifier' is not valid"),
    ({"project_slug": "Iris", "package_name": "iris"}, "project_slug 'Iris' is not valid"),
    ({"package_name": "json"}, "would shadow the 'json' module"),
    ({"package_name": "flask"}, "would shadow the 'flask' module"),
    ({"package_name": "test"}, "would shadow the 'test' module"),
    ({"package_name": "tests"}, "would shadow the 'tests' module"),
    ({"package_name": "sklearn"}, "would shadow the 'sklearn' module"),
    ({"package_name": "iris-model"}, "is not a valid module name"),
    ({"package_name": "class"}, "is not a valid module name"),
    ({"package_name": "Iris"}, "is not a valid module name"),
    ({"model_name": "../iris"}, "model_name '../iris' is not valid"),
    ({"model_name": "Iris Model"}, "model_name 'Iris Model' is not valid"),
    ({"features": ""}, "features is empty"),
    ({"features": " "}, "features is empty"),
    ({"features": "a,b,a"}, "features lists a more than once"),
    ({"features": "a,,b"}, "feature '' is not valid"),
    ({"features": "sepal length,b"}, "feature 'sepal length' is not valid"),
    ({"features": "a,2b"}, "feature '2b' is not valid"),
    ({"features": "a,for"}, "feature 'for' is not valid"),
    ({"features": "a,_private"}, "feature '_private' is not valid"),
    ({"features": "a,b-c"}, "feature 'b-c' is not valid"),
    ({"features": "a,b:integer"}, "feature 'b:integer' has the type 'integer': use float, int"),
    ({"features": "a,b:"}, "feature 'b:' has the type ''"),
    ({"features": "a,b:Category"}, "has the type 'Category'"),
    ({"features": "a:int,a:bool"}, "features lists a more than once"),
    ({"framework": "pytorch", "serializer": "joblib"}, "valid for pytorch: auto, torch_state_dict"),
    ({"framework": "tensorflow", "serializer": "pickle"}, "valid for tensorflow: auto, savedmodel"),
    ({"serializer": "savedmodel"}, "serializer 'savedmodel' does not fit framework 'sklearn'"),
    ({"serializer": "torch_state_dict"}, "valid for sklearn: auto, joblib, pickle"),
    ({"author_email": "nobody"}, "author_email 'nobody' is not an email"),
    ({"description": "two\nlines"}, "description must fit on one line"),
    ({"author_name": "  "}, "author_name is empty"),
    (
        {"container": "none"},
        "kubernetes=manifests and monitoring_stack=compose need the service's container image",
    ),
    (
        {"container": "none", "kubernetes": "none"},
        "monitoring_stack=compose needs the service's container image",
    ),
    (
        {"container": "none", "kubernetes": "kserve", "monitoring_stack": "none"},
        "kubernetes=kserve needs the service's container image",
    ),
    ({"ci": "none", "template_updates": "cruft"}, "template_updates=cruft adds a GitHub Actions"),
]


@pytest.mark.parametrize(("answers", "phrase"), REFUSALS, ids=[p for _, p in REFUSALS])
def test_bad_answer_is_refused_before_anything_is_written(
    cookies, tmp_path: Path, answers: dict[str, str], phrase: str, capfd: pytest.CaptureFixture[str]
) -> None:
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == -1
    assert result.project_path is None
    assert not list((tmp_path / "cookies" / "bake00").iterdir())  # where pytest-cookies bakes
    errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1
    assert phrase in errors[0]


def test_valid_answers_pass() -> None:
    hook = load_hook("pre_gen_project", default_answers())
    assert hook.problems(hook.ANSWERS) == []


@pytest.mark.parametrize(("answers", "phrase"), REFUSALS, ids=[p for _, p in REFUSALS])
def test_each_check_names_the_problem(answers: dict[str, str], phrase: str) -> None:
    hook = load_hook("pre_gen_project", default_answers())
    problems = hook.problems({**hook.ANSWERS, **answers})
    assert len(problems) == 1
    assert phrase in problems[0]
    assert "\n" not in problems[0]


def test_a_derived_name_reports_each_problem_on_its_own_line() -> None:
    hook = load_hook("pre_gen_project", default_answers(project_name="1st Model"))
    problems = hook.problems(hook.ANSWERS)
    assert [problem.split()[0] for problem in problems] == ["project_slug", "package_name"]


def test_features_are_split_like_the_template_splits_them() -> None:
    hook = load_hook("pre_gen_project", default_answers())
    answer = " a, b : int ,c:category,d:bool"
    assert hook.split_features(answer) == ["a", "b : int", "c:category", "d:bool"]
    parsed = dict(hook.parse_feature(item) for item in hook.split_features(answer))
    assert (
        parsed == feature_types(answer) == {"a": "float", "b": "int", "c": "category", "d": "bool"}
    )


@pytest.fixture
def variant_tree(tmp_path: Path) -> Path:
    """A project tree with variants of two options, as cookiecutter leaves it."""
    files = {
        "README.md": "base",
        "_variants/serializer/joblib/src/pkg/store/serializer.py": "joblib",
        "_variants/serializer/pickle/src/pkg/store/serializer.py": "pickle",
        "_variants/task/classification/tests/test_predict.py": "labels",
        "_variants/task/regression/tests/test_predict.py": "values",
        "_variants/framework/sklearn/requirements.txt": "scikit-learn",
        "_variants/framework-task/sklearn-regression/src/pkg/model/training.py": "ridge",
        "_variants/framework-task/sklearn-classification/src/pkg/model/training.py": "logistic",
        "_variants/example_data/synthetic-regression/src/pkg/model/example_data.py": "synthetic",
        "_variants/example_data/iris-classification/src/pkg/model/example_data.py": "iris",
        "_variants/example_inputs/iris/src/pkg/model/data/iris.csv": "iris",
        "_variants/example_inputs/synthetic/src/pkg/model/synthetic.py": "draws",
        "_variants/encoding/one_hot/src/pkg/model/encoding.py": "one-hot",
        "_variants/monitoring_stack/compose/deploy/compose/compose.yaml": "stack",
        "_variants/container/docker/Dockerfile": "image",
        "_variants/kubernetes/manifests/deploy/k8s/kustomization.yaml": "manifests",
        "_variants/kubernetes/kserve/deploy/kserve/inference-service.yaml": "kserve",
        "_variants/kubernetes/kserve/_template/README.kubernetes.md": "the README's section",
        "_variants/ci/github/.github/workflows/ci.yml": "workflow",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_post_gen_keeps_only_the_chosen_variants(variant_tree: Path) -> None:
    answers = default_answers(
        serializer="pickle",
        task="regression",
        features="a,b",
        monitoring_stack="none",
        container="none",
        kubernetes="none",
        ci="none",
    )
    hook = load_hook("post_gen_project", answers)
    hook.apply_variants(variant_tree, hook.ANSWERS)
    found = {
        path.relative_to(variant_tree).as_posix(): path.read_text()
        for path in variant_tree.rglob("*")
        if path.is_file()
    }
    assert found == {
        "README.md": "base",
        "src/pkg/store/serializer.py": "pickle",
        "tests/test_predict.py": "values",
        "requirements.txt": "scikit-learn",
        "src/pkg/model/training.py": "ridge",
        "src/pkg/model/example_data.py": "synthetic",
        "src/pkg/model/synthetic.py": "draws",
    }


def test_post_gen_moves_an_option_s_files_into_their_folders(variant_tree: Path) -> None:
    hook = load_hook("post_gen_project", default_answers(task="regression", features="a"))
    hook.apply_variants(variant_tree, hook.ANSWERS)
    assert (variant_tree / "deploy/compose/compose.yaml").read_text() == "stack"
    assert (variant_tree / "Dockerfile").read_text() == "image"
    assert (variant_tree / "deploy/k8s/kustomization.yaml").read_text() == "manifests"
    assert (variant_tree / ".github/workflows/ci.yml").read_text() == "workflow"
    assert not (variant_tree / "_variants").exists()


def test_post_gen_keeps_a_variant_s_files_but_not_what_it_keeps_for_the_template(
    variant_tree: Path,
) -> None:
    answers = default_answers(task="regression", features="a", kubernetes="kserve")
    hook = load_hook("post_gen_project", answers)
    hook.apply_variants(variant_tree, hook.ANSWERS)
    assert (variant_tree / "deploy/kserve/inference-service.yaml").read_text() == "kserve"
    assert not (variant_tree / "deploy/k8s").exists()
    assert not list(variant_tree.rglob("README.kubernetes.md"))


def test_post_gen_refuses_to_overwrite_a_base_file(variant_tree: Path) -> None:
    (variant_tree / "requirements.txt").write_text("base")
    hook = load_hook("post_gen_project", default_answers(task="regression", features="a"))
    with pytest.raises(FileExistsError, match="would overwrite"):
        hook.apply_variants(variant_tree, hook.ANSWERS)


def test_post_gen_fails_loudly_on_a_missing_variant(tmp_path: Path) -> None:
    hook = load_hook("post_gen_project", default_answers())
    with pytest.raises(FileNotFoundError, match="the template has no variant"):
        hook.apply_variants(tmp_path, hook.ANSWERS)


def test_post_gen_prints_the_next_steps() -> None:
    hook = load_hook("post_gen_project", default_answers())
    steps = hook.next_steps(hook.ANSWERS)
    assert "cd iris-classifier" in steps
    assert "make train-example" in steps
