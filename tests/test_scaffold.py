"""Plugin packages as a third party writes them: `stylegen plugin new` skeletons, whose tests
pass as written, and the packages under plugins/ (loaded by path: nothing here needs them
installed; `tox -e plugins` installs them and runs their own tests)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import stylegen
from stylegen import hookspecs, plugins, scaffold
from stylegen.cli import cli
from stylegen.scaffold import KINDS
from stylegen.testing import check_model, plugin_registry

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> Result:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()
    return runner.invoke(cli, list(args))


class Outcomes:
    """A pytest plugin counting the outcomes of a run's tests."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.counts[report.outcome] = self.counts.get(report.outcome, 0) + 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_skeleton_test_passes_as_written(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("plugin", "new", f"my-{kind}", "--kind", kind, "--dir", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    package = tmp_path / f"stylegen-my-{kind}"
    written = sorted(Path(line).relative_to(package).as_posix() for line in result.stdout.splitlines())
    module = f"stylegen_my_{kind}"
    assert {"pyproject.toml", "README.md", f"{module}/__init__.py", "tests/conftest.py"} <= set(written)
    assert result.stderr.startswith("next: ")
    # The skeleton's own tests, run by pytest in this process: their fixture registers the
    # module through plugins.reset(extra=...), as an installed package's entry point would be.
    # Only the plugins they ask for (pytest plugins installed here, such as textual's
    # snapshots, keep session-wide state that a nested run would tear down); modules by path.
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    outcomes = Outcomes()
    # The skeleton's tests/conftest.py is imported as `tests.conftest`, a name this suite may
    # hold already: set ours aside for the run, and forget the skeleton's afterwards.
    ours = {name: sys.modules.pop(name) for name in list(sys.modules) if name.split(".")[0] == "tests"}
    try:
        code = pytest.main(
            [str(package / "tests"), "-q", "-p", "no:cacheprovider", "--import-mode=importlib"], plugins=[outcomes]
        )
    finally:
        for name, loaded in list(sys.modules.items()):
            if name.split(".")[0] == "tests" or str(getattr(loaded, "__file__", None) or "").startswith(str(package)):
                del sys.modules[name]
        sys.modules.update(ours)
    expected = scaffold.templates(kind)["tests/test_plugin_module.py"].count("\ndef test_")
    assert (code, outcomes.counts) == (pytest.ExitCode.OK, {"passed": expected})


def test_skeleton_declares_its_entry_point_and_contract_version(tmp_path: Path) -> None:
    package = scaffold.write("shout", "sampler", tmp_path)
    project = tomllib.loads((package / "pyproject.toml").read_text())
    assert project["project"]["name"] == "stylegen-shout"
    assert project["project"]["entry-points"]["stylegen"] == {"shout": "stylegen_shout"}
    source = (package / "stylegen_shout" / "__init__.py").read_text()
    header = source.split("class ")[0]
    assert "STYLEGEN_HOOKSPEC_VERSION = 1\n" in header and "\nimport torch\n" not in header  # cheap to import


@pytest.mark.parametrize("kind", list(KINDS))
def test_templates_are_valid_files_and_rendering_fills_every_placeholder(kind: str) -> None:
    """The templates are Python and TOML as they stand (ruff and mypy check them: tox -e lint,
    tox -e type); a rendered package has no placeholder left and the contract version stamped."""
    sources = scaffold.templates(kind)
    assert {"pyproject.toml", "README.md", "tests/conftest.py", "plugin_module/__init__.py"} <= set(sources)
    for path, text in sources.items():
        if path.endswith(".py"):
            ast.parse(text, path)
        elif path.endswith(".toml"):
            tomllib.loads(text)
    rendered = scaffold.render("my-thing", kind)
    assert set(rendered) == {path.replace("plugin_module", "stylegen_my_thing") for path in sources}
    for path, text in rendered.items():
        for placeholder in ("PLUGIN_", "plugin_module", "PluginClass"):
            assert placeholder not in text, f"{path}: {placeholder}"
    version = f"STYLEGEN_HOOKSPEC_VERSION = {hookspecs.HOOKSPEC_VERSION}\n"
    assert version in rendered["stylegen_my_thing/__init__.py"]
    assert f'"stylegen>={stylegen.__version__}"' in rendered["pyproject.toml"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["lstm", "--kind", "model"], 1, "a model named 'lstm' already exists (from stylegen); choose another name"),
        (["samplers", "--kind", "sampler"], 1, "the plugin name 'samplers' is taken by stylegen"),
        (["My_Plugin", "--kind", "sampler"], 1, "plugin name 'My_Plugin': use lower-case letters"),
        (["x", "--kind", "widget"], 2, "'widget' is not one of 'sampler', 'model'"),
        (["x"], 2, "Missing option '--kind'"),
    ],
)
def test_bad_names_and_kinds_are_one_line_errors(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = invoke("plugin", "new", *args, "--dir", str(tmp_path))
    assert result.exit_code == code
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and message in line
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "stylegen-shout").mkdir()
    result = invoke("plugin", "new", "stylegen-shout", "--kind", "sampler", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "stylegen-shout already exists" in result.stderr
    assert list((tmp_path / "stylegen-shout").iterdir()) == []


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("STYLEGEN_SLOW"), reason="pip-installs a package (STYLEGEN_SLOW=1; tox -e plugins)"
)
def test_skeleton_installs_is_listed_and_passes_its_test_installed(tmp_path: Path) -> None:
    package = scaffold.write("shout", "sampler", tmp_path)
    site = tmp_path / "site"
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation, "--target", str(site), str(package)]
    subprocess.run(pip, check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site), "STYLEGEN_HOME": str(tmp_path / "home")}
    env.pop("STYLEGEN_LOAD_PLUGINS", None)
    listed = subprocess.run(
        [sys.executable, "-m", "stylegen", "plugins", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    entry = next(e for e in json.loads(listed.stdout) if e["name"] == "shout")
    assert (entry["kind"], entry["package"], entry["version"]) == ("sampler", "stylegen-shout", "0.1.0")
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr


# ------------------------------------------------------------ the packages under plugins/


def plugin_module(package: str, module: str) -> object:
    """Import `module` from plugins/`package` by path (it need not be installed)."""
    path = str(ROOT / "plugins" / package)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module(module)


@pytest.fixture
def tree_plugins() -> object:
    with plugin_registry(
        {
            "transformer": plugin_module("stylegen-transformer", "stylegen_transformer"),
            "tcn": plugin_module("stylegen-tcn", "stylegen_tcn"),
        }
    ) as reg:
        yield reg


def test_tree_plugins_register_and_follow_the_model_protocol(tree_plugins: plugins.Registry) -> None:
    entries = {e.name: e for e in tree_plugins.of_kind("model")}
    assert (entries["transformer"].version, entries["tcn"].version) == ("0.1.0", "0.1.0")
    check_model(tree_plugins.get("model", "transformer"), {"layers": 2, "hidden": 16, "heads": 2, "context": 4})
    check_model(
        tree_plugins.get("model", "transformer"), {"layers": 1, "hidden": 8, "heads": 2, "positions": "learned"}
    )
    check_model(tree_plugins.get("model", "tcn"), {"layers": 3, "hidden": 8, "embed": 4}, length=32)


def test_tree_plugins_are_trained_by_the_ordinary_command(tree_plugins: plugins.Registry, tiny_corpus: str) -> None:
    for model, options in (
        ("transformer", ["--hidden", "16", "--model-opt", "heads=2", "--model-opt", "context=8"]),
        ("tcn", ["--hidden", "16", "--embed", "8"]),
    ):
        result = invoke(
            "train", tiny_corpus, "--name", model, "--model", model, "--layers", "2", *options,
            "--batch-size", "4", "--seq-len", "16", "--max-steps", "20", "--eval-every", "10", "--quiet",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        result = invoke("generate", model, "--prime", "the ", "--length", "20", "--seed", "1")
        assert result.exit_code == 0 and result.stdout.startswith("the "), result.stderr


def test_tree_plugins_use_only_the_public_api() -> None:
    """Every import of stylegen in the plugin packages' modules (at any depth, `from stylegen
    import MODULE` included) names a public module or the facade's names."""
    public = {"stylegen.hookspecs", "stylegen.protocols", "stylegen.errors", "stylegen.config", "stylegen.testing"}
    sources = sorted((ROOT / "plugins").glob("*/stylegen_*/**/*.py"))
    found = {source.relative_to(ROOT / "plugins").parts[1] for source in sources}
    assert found == {"stylegen_tcn", "stylegen_transformer"}, found  # the glob finds both packages

    def module(name: str) -> bool:
        return (ROOT / "stylegen" / f"{name}.py").is_file() or (ROOT / "stylegen" / name).is_dir()

    imported = 0
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "stylegen" and node.level == 0:
                names = [f"stylegen.{alias.name}" if module(alias.name) else "stylegen" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "stylegen":
                    imported += 1
                    assert name in public | {"stylegen"}, f"{source}:{node.lineno}: imports {name}"
    assert imported >= 2  # each package registers its hooks through stylegen.hookspecs at least


def test_the_skeletons_tests_use_only_the_public_api() -> None:
    """The scaffold's own tests import only what docs/plugins.md allows: the public modules,
    `stylegen.testing` (its `Registry` included) and the facade's names."""
    public = {"stylegen.hookspecs", "stylegen.protocols", "stylegen.errors", "stylegen.config", "stylegen.testing"}
    sources = sorted((ROOT / "stylegen" / "scaffold" / "templates").glob("**/*.py"))
    assert len(sources) >= 7
    imported = 0
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "stylegen":
                    imported += 1
                    assert name in public | {"stylegen"}, f"{source}:{node.lineno}: imports {name}"
    assert imported >= 7


# ------------------------------------------------------------ the examples in docs/plugins.md


def doc_examples() -> dict[str, str]:
    """The guide's example modules: each ```python block starting `# file: PATH`, by PATH."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    files = {}
    for block in text.split("```python\n")[1:]:
        code = block.split("```", 1)[0]
        first, _, rest = code.partition("\n")
        if first.startswith("# file: "):
            files[first.removeprefix("# file: ")] = rest
    return files


def test_the_guides_examples_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stylegen.protocols import SourceOptions
    from stylegen.testing import check_extractor, check_observer, check_sampler, check_source, check_tokenizer

    files = doc_examples()
    packages = sorted({path.split("/")[0] for path in files})
    assert packages == [
        "stylegen_bytes",
        "stylegen_epsilon",
        "stylegen_gru",
        "stylegen_lines",
        "stylegen_mirostat",
        "stylegen_org",
        "stylegen_vallog",
    ]
    for path, code in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(code, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = {name: importlib.import_module(name) for name in packages}
    try:
        with plugin_registry(modules) as reg:
            lines = tmp_path / "lines.txt"
            lines.write_text("one\n\ntwo\n", encoding="utf-8")
            docs = check_source(reg.get("source", "lines"), [str(lines), str(tmp_path / "missing")], SourceOptions())
            assert [d.text for d in docs] == ["one\n", "two\n"]
            assert check_extractor(reg.get("extractor", "org"), b"#+TITLE: x\nText.\n# note\n") == "Text.\n"
            check_tokenizer(reg.get("tokenizer", "bytes"), "naïve café ☕\n", tmp_path / "tok")
            check_model(reg.get("model", "my-gru"), {"hidden": 16, "embed": 8, "layers": 2})
            check_sampler(reg.get("sampler", "epsilon"))
            mirostat = reg.get("sampler", "mirostat")
            check_sampler(mirostat)
            from stylegen.protocols import KeepsState

            assert isinstance(mirostat, KeepsState)
            import torch

            params = {"tau": 3.0, "eta": 0.1}
            mu = mirostat.start(2, params)
            generator = torch.Generator().manual_seed(0)
            for _ in range(5):  # the threshold follows the surprise of what was drawn
                ids, mu = mirostat.sample(torch.randn(2, 30), params, generator, mu)
                assert ids.shape == (2,) and mu.shape == (2,) and torch.isfinite(mu).all()
            import io

            stream = io.StringIO()
            check_observer(reg.get("observer", "val-log"), stream=stream)
            assert stream.getvalue() == "step 10: 2.100 bits/char (best)\n"
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] in packages]:
            del sys.modules[name]


def test_a_style_trains_and_writes_with_the_guides_byte_tokenizer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stylegen import build_corpus, load_style
    from stylegen.training import TrainConfig, train

    package = tmp_path / "stylegen_bytes"
    package.mkdir()
    (package / "__init__.py").write_text(doc_examples()["stylegen_bytes/__init__.py"], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with plugin_registry({"bytes": importlib.import_module("stylegen_bytes")}):
            (tmp_path / "cafe.txt").write_text("un café, s'il vous plaît.\n" * 150, encoding="utf-8")
            build_corpus("cafe", [str(tmp_path / "cafe.txt")])
            meta = train(
                TrainConfig(corpus="cafe", name="cafe", tokenizer="bytes", model_config={"hidden": 48, "layers": 1},
                            batch_size=4, seq_len=32, lr=1e-2, warmup_steps=5, max_steps=60, eval_every=30)
            )  # fmt: skip
            assert meta["tokenizer"]["vocab_size"] == 256 and meta["val_bpc"] is not None
            chunks = list(load_style("cafe").generate("un ", length=60, seed=0))
            assert len(chunks) == 60 and 0 < len("".join(chunks)) <= 60  # 60 bytes: at most 60 characters
    finally:
        sys.modules.pop("stylegen_bytes", None)
