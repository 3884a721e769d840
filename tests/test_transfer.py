"""Untrusted files: `stylegen styles export/import` and hostile archives, and a style whose
files were truncated or altered on disk.

Each hostile archive starts from a real export and changes one thing; every one is refused
with one `error:` line naming the archive member and why, and leaves the data home exactly
as it was (no staging folder, no lock file, no half-installed style).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import stat
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from test_cli import assert_error, invoke, ok, snapshot

from stylegen import locks, styles, transfer
from stylegen.errors import StylegenError
from stylegen.training import TrainConfig, checkpoint, portable, train


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def rezip(
    path: Path,
    files: dict[str, bytes],
    *,
    manifest: bool = True,
    modes: dict[str, int] | None = None,
    sizes: dict[str, int] | None = None,
) -> Path:
    """Write `files` as a zip; with `manifest`, a manifest.json that lists them truthfully
    (so only the change under test is wrong). `modes`: Unix modes of members; `sizes`:
    uncompressed sizes to declare in the central directory instead of the real ones."""
    files = dict(files)
    files.pop(transfer.MANIFEST, None)
    if manifest:
        listing = {k: {"sha256": hashlib.sha256(v).hexdigest(), "bytes": len(v)} for k, v in files.items()}
        listing.update({k: {**listing[k], "bytes": n} for k, n in (sizes or {}).items() if k in listing})
        head = {"stylegen_archive": 1, "kind": "style", "name": "tiny", "files": listing}
        files = {transfer.MANIFEST: json.dumps(head).encode(), **files}
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
        for info in zf.filelist:  # the central directory is written from these at close
            if sizes and info.filename in sizes:
                info.file_size = sizes[info.filename]
    return path


@pytest.fixture
def exported(trained: str, tmp_path: Path) -> Path:
    """Style `tiny` exported with its checkpoint and index, then removed from the data home."""
    archive = tmp_path / "tiny.zip"
    ok(invoke("styles", "export", trained, str(archive), "--with-checkpoint", "--with-index"))
    ok(invoke("styles", "rm", trained))
    return archive


def refused(hermetic: Path, archive: Path, *needles: str, args: tuple[str, ...] = ()) -> str:
    before = snapshot(hermetic)
    line = assert_error(invoke("styles", "import", str(archive), *args), 1, *needles)
    assert snapshot(hermetic) == before, "a refused import changed the data home"
    return line


# --------------------------------------------------------------------------- round trips


def test_export_then_import_gives_the_same_style(trained: str, hermetic: Path, tmp_path: Path) -> None:
    archive = tmp_path / "out.zip"
    out = ok(invoke("styles", "export", trained, str(archive), "--json"))
    info = json.loads(out.stdout)
    assert info["files"] == 4 and info["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    inside = members(archive)
    assert sorted(inside) == [
        "manifest.json",
        "metrics.jsonl",
        "model.safetensors",
        "style.json",
        "tokenizer/vocab.json",
    ]
    manifest = json.loads(inside["manifest.json"])
    for rel, entry in manifest["files"].items():
        assert entry == {"sha256": hashlib.sha256(inside[rel]).hexdigest(), "bytes": len(inside[rel])}
    ok(invoke("styles", "import", str(archive), "--name", "copy"))
    for rel in ("model.safetensors", "tokenizer/vocab.json", "metrics.jsonl"):
        assert (hermetic / "styles" / "copy" / rel).read_bytes() == (hermetic / "styles" / trained / rel).read_bytes()
    assert json.loads((hermetic / "styles" / "copy" / "style.json").read_text())["name"] == "copy"
    assert not (hermetic / "styles" / "copy" / "checkpoint").exists()  # not without --with-checkpoint
    a = ok(invoke("generate", trained, "--seed", "3", "--length", "60"))
    b = ok(invoke("generate", "copy", "--seed", "3", "--length", "60"))
    assert a.stdout == b.stdout
    assert sorted(p.name for p in (hermetic / "styles").iterdir()) == ["copy", trained]  # no lock, no scraps


def test_a_checkpoint_travels_without_pickle_and_resumes_exactly(trained: str, tmp_path: Path) -> None:
    archive = tmp_path / "t.zip"
    ok(invoke("styles", "export", trained, str(archive), "--with-checkpoint"))
    inside = members(archive)
    assert "checkpoint/state.safetensors" in inside and not any(k.endswith(".pt") for k in inside)
    assert all(not (v[:1] == b"\x80" and v[1:2] in b"\x02\x03\x04\x05") for v in inside.values())
    ok(invoke("styles", "import", str(archive), "--name", "copy"))
    a, b = checkpoint.load(styles.style_path(trained)), checkpoint.load(styles.style_path("copy"))
    assert b["config"] == {**a["config"], "name": "copy"} and b["step"] == a["step"] == 120
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert torch.equal(a["rng"], b["rng"])
    one = train(TrainConfig(corpus=trained, name=trained, max_steps=125), resume=True)
    two = train(TrainConfig(corpus=trained, name="copy", max_steps=125), resume=True)
    assert one["steps"] == two["steps"] == 125
    assert one["val_loss"] == two["val_loss"]  # the same run, continued on the other side
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()


def test_the_packed_checkpoint_is_the_same_checkpoint(trained: str) -> None:
    payload = checkpoint.load(styles.style_path(trained))
    tensors_bytes, structure = portable.pack(payload)
    from safetensors.torch import load

    back = portable.unpack(load(tensors_bytes), json.loads(structure))

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, torch.Tensor):
            return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list | tuple):
            return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
        return type(a) is type(b) and (a == b or a != a)  # nan == nan here

    assert same(payload, back)


def test_import_over_an_existing_style_needs_force(exported: Path, hermetic: Path) -> None:
    ok(invoke("styles", "import", str(exported)))
    refused(hermetic, exported, "style 'tiny' already exists", "--force")
    ok(invoke("styles", "import", str(exported), "--force"))
    assert sorted(p.name for p in (hermetic / "styles").iterdir()) == ["tiny"]


def test_export_refuses_to_overwrite_and_names_what_is_missing(trained: str, tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_text("keep me")
    assert_error(invoke("styles", "export", trained, str(tmp_path / "x.zip")), 1, "already exists", "--force")
    assert (tmp_path / "x.zip").read_text() == "keep me"
    (styles.style_path(trained) / "originality.npz").unlink()
    assert_error(
        invoke("styles", "export", trained, str(tmp_path / "y.zip"), "--with-index"), 1, "no originality index"
    )
    assert_error(invoke("styles", "export", "nope", str(tmp_path / "z.zip")), 1, "no style named 'nope'")
    (styles.style_path(trained) / checkpoint.CHECKPOINT).unlink()
    line = assert_error(invoke("styles", "export", trained, str(tmp_path / "y.zip"), "--with-checkpoint"), 1)
    assert "has no checkpoint to export" in line
    assert not (tmp_path / "y.zip").exists() and not (tmp_path / "z.zip").exists()


def test_import_while_the_style_is_busy_is_refused(exported: Path, hermetic: Path) -> None:
    ok(invoke("styles", "import", str(exported)))
    with locks.style_lock("tiny", "training it"):
        line = refused(hermetic, exported, "style 'tiny' is busy", "training it", args=("--force",))
        assert "pid" in line


# --------------------------------------------------------------------------- hostile archives


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("../evil.txt", "leaves the style folder"),
        ("tokenizer/../../evil.txt", "leaves the style folder"),
        ("/etc/evil", "absolute"),
        ("C:/evil", "absolute"),
        ("tokenizer\\..\\..\\evil", "absolute or malformed"),
        ("tokenizer/.hidden", "hidden"),
        ("tokenizer//x", "malformed"),
        ("run.sh", "not part of a style"),
        ("tokenizer/a/b/c/d", "not part of a style"),
    ],
)
def test_paths_that_leave_the_folder_or_do_not_belong(exported: Path, hermetic: Path, name: str, needle: str) -> None:
    files = {**members(exported), name: b"pwned\n"}
    refused(hermetic, rezip(exported, files), "refused", repr(name), needle)
    assert not (hermetic.parent / "evil.txt").exists() and not (hermetic / "evil.txt").exists()


@pytest.mark.parametrize(
    ("mode", "needle"),
    [(stat.S_IFLNK | 0o777, "symbolic link"), (stat.S_IFCHR | 0o644, "device"), (stat.S_IFIFO | 0o644, "device")],
)
def test_links_and_devices(exported: Path, hermetic: Path, mode: int, needle: str) -> None:
    files = members(exported)
    files["tokenizer/vocab.json"] = b"/etc/passwd"  # what a symlink member holds: its target
    refused(hermetic, rezip(exported, files, modes={"tokenizer/vocab.json": mode}), "tokenizer/vocab.json", needle)


def test_a_pickle_is_refused_by_name(exported: Path, hermetic: Path) -> None:
    original = members(exported)
    for name in ("checkpoint/state.pt", "tokenizer/vocab.pkl", "model.pth", "tokenizer/x.npy"):
        files = {**original, name: pickle.dumps({"a": 1})}
        refused(hermetic, rezip(exported, files), repr(name), "pickle")


def test_a_pickle_is_refused_by_its_bytes(exported: Path, hermetic: Path) -> None:
    class Boom:
        def __reduce__(self) -> Any:
            return (print, ("never printed",))

    for protocol in (2, 3, 4, 5):
        files = {**members(exported), "tokenizer/vocab.json": pickle.dumps(Boom(), protocol=protocol)}
        refused(hermetic, rezip(exported, files), "'tokenizer/vocab.json'", "pickle")


def test_a_torch_file_under_another_name_is_refused(exported: Path, hermetic: Path) -> None:
    buffer = io.BytesIO()
    torch.save({"x": torch.zeros(2)}, buffer)  # a zip holding data.pkl
    files = {**members(exported), "tokenizer/extra.bin": buffer.getvalue()}
    refused(hermetic, rezip(exported, files), "'tokenizer/extra.bin'", "zip inside the archive")


def test_a_pickle_as_the_weights_is_damaged_weights(exported: Path, hermetic: Path) -> None:
    files = {**members(exported), "model.safetensors": pickle.dumps({"w": [1.0] * 100})}
    refused(hermetic, rezip(exported, files), "model.safetensors", "damaged weights")


@pytest.mark.parametrize("rel", ["style.json", "model.safetensors", "tokenizer/vocab.json", "checkpoint/state.json"])
def test_a_file_that_does_not_match_its_hash(exported: Path, hermetic: Path, rel: str) -> None:
    files = members(exported)
    manifest = files.pop("manifest.json")
    data = bytearray(files[rel])
    data[len(data) // 2] ^= 0x01  # one bit
    files[rel] = bytes(data)
    with zipfile.ZipFile(exported, "w") as zf:
        zf.writestr("manifest.json", manifest)  # the original hashes
        for name, value in files.items():
            zf.writestr(name, value)
    refused(hermetic, exported, repr(rel), "does not match its sha256")


def test_manifest_problems(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    refused(hermetic, rezip(exported, files, manifest=False), "not a stylegen style archive")
    listed = json.loads(files["manifest.json"])
    with zipfile.ZipFile(exported, "w") as zf:  # a file the manifest does not list
        zf.writestr("manifest.json", json.dumps(listed))
        for name, value in {**files, "tokenizer/extra.json": b"{}"}.items():
            if name != "manifest.json":
                zf.writestr(name, value)
    refused(hermetic, exported, "'tokenizer/extra.json' is not listed")
    changes: list[tuple[dict[str, Any], str]] = [
        ({"stylegen_archive": 9}, "newer stylegen"),
        ({"kind": "corpus"}, "kind must be one of"),
        ({"files": {**listed["files"], "metrics.jsonl": {"sha256": "x", "bytes": 1}}}, "a sha256 in hex"),
        ({"name": "../up"}, "invalid style name '../up'"),
    ]
    for change, needle in changes:
        with zipfile.ZipFile(exported, "w") as zf:
            zf.writestr("manifest.json", json.dumps({**listed, **change}))
            for name, value in files.items():
                if name != "manifest.json":
                    zf.writestr(name, value)
        refused(hermetic, exported, needle)


def test_not_a_zip_and_missing_files(exported: Path, hermetic: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"\x00" * 100)
    refused(hermetic, junk, "not a zip archive")
    refused(hermetic, tmp_path / "missing.zip", "no such file")
    original = members(exported)
    files = {k: v for k, v in original.items() if k != "model.safetensors"}
    refused(hermetic, rezip(exported, files), "model.safetensors is missing")
    files = {k: v for k, v in original.items() if not k.startswith("tokenizer/")}
    refused(hermetic, rezip(exported, files), "no tokenizer files")


def test_duplicate_members(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    with zipfile.ZipFile(exported, "a") as zf, pytest.warns(UserWarning):
        zf.writestr("style.json", files["style.json"])
    refused(hermetic, exported, "'style.json' is in the archive twice")
    rezip(exported, {**files, "tokenizer/VOCAB.json": b"{}"})
    refused(hermetic, exported, "'tokenizer/VOCAB.json' is in the archive twice")  # one file on some disks


def test_size_limits(exported: Path, hermetic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = members(exported)
    with monkeypatch.context() as m:
        m.setattr(transfer, "MAX_FILE_BYTES", 100_000)
        refused(hermetic, exported, "'originality.npz'", "more than the 100,000 a file may have")
    with monkeypatch.context() as m:
        m.setattr(transfer, "MAX_TOTAL_BYTES", 200_000)
        refused(hermetic, exported, "more than 200,000 bytes in all")
    with monkeypatch.context() as m:
        m.setattr(transfer, "MAX_FILES", 3)
        refused(hermetic, exported, "members, more than 3")
    with monkeypatch.context() as m:
        m.setattr(transfer, "MAX_JSON_BYTES", 1_000)
        refused(hermetic, exported, "'manifest.json' is", "more than 1,000")
    many = {**files, **{f"tokenizer/f{i}.json": b"{}" for i in range(1_001)}}
    refused(hermetic, rezip(exported, many), "more than 1,000")


def test_declared_sizes_must_be_the_real_sizes(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    real = len(files["metrics.jsonl"])
    # The central directory says fewer bytes than the member holds (the manifest agrees with it).
    rezip(exported, files, sizes={"metrics.jsonl": real - 10})
    refused(hermetic, exported, "metrics.jsonl")
    # The manifest says another size than the archive declares.
    listed = json.loads(files["manifest.json"])
    listed["files"]["metrics.jsonl"]["bytes"] = real + 1
    with zipfile.ZipFile(exported, "w") as zf:
        zf.writestr("manifest.json", json.dumps(listed))
        for name, value in files.items():
            if name != "manifest.json":
                zf.writestr(name, value)
    refused(hermetic, exported, "'metrics.jsonl' declares", "manifest.json says")


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"tokenizer": None}, "tokenizer must be an object"),
        ({"format_version": 7}, "newer stylegen"),
        ({"model": {"name": "lstm"}}, "model.config is missing"),
        ({"tokenizer": {"name": "char", "vocab_size": -3}}, "tokenizer.vocab_size must be an integer >= 1"),
        ({"turns": {"kind": "sonnet"}}, "turns.kind must be one of"),
        ({"val_bpc": "low"}, "val_bpc must be a number"),
        ({"model": {"name": "nope", "config": {}}}, "unknown model 'nope'"),
    ],
)
def test_style_json_against_the_schema(exported: Path, hermetic: Path, change: dict[str, Any], needle: str) -> None:
    files = members(exported)
    meta = {**json.loads(files["style.json"]), **change}
    files["style.json"] = json.dumps(meta).encode()
    refused(hermetic, rezip(exported, files), needle)


def test_weights_that_do_not_fit_the_model(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    meta = json.loads(files["style.json"])
    meta["model"]["config"]["hidden"] = 64  # the weights are of hidden 48
    refused(hermetic, rezip(exported, {**files, "style.json": json.dumps(meta).encode()}), "do not fit the model")
    from safetensors.torch import load, save

    tensors = load(files["model.safetensors"])
    key = sorted(tensors)[0]
    tensors[key] = torch.zeros(3, 3)
    refused(hermetic, rezip(exported, {**files, "model.safetensors": save(tensors)}), repr(key), "model.safetensors")
    refused(hermetic, rezip(exported, {**files, "model.safetensors": files["model.safetensors"][:-100]}), "damaged")


def test_a_huge_model_config_allocates_nothing(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    meta = json.loads(files["style.json"])
    meta["model"]["config"].update(hidden=1_000_000, layers=64)  # about 10**14 parameters
    started = time.monotonic()
    archive = rezip(exported, {**files, "style.json": json.dumps(meta).encode()})
    refused(hermetic, archive, "style.json", "hidden 1,000,000", "parameters, more than the 536,870,912")
    assert time.monotonic() - started < 30


def test_a_damaged_tokenizer_or_checkpoint_or_index(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    for rel, data, needle in [
        ("tokenizer/vocab.json", b'{"chars": ["b", "a"]}', "not a char vocabulary"),
        ("tokenizer/vocab.json", b'{"chars": ["a", "b"]}', "the tokenizer files were changed"),
        ("checkpoint/state.json", b'{"$eval": "os.system"}', "not a packed checkpoint"),
        ("checkpoint/state.json", b"[" * 100_000, "not valid JSON"),
        ("originality.npz", b"PK\x03\x04" + b"\x00" * 50, "originality"),
    ]:
        refused(hermetic, rezip(exported, {**files, rel: data}), needle)


def test_a_checkpoint_of_another_model_is_refused(exported: Path, hermetic: Path) -> None:
    files = members(exported)
    structure = json.loads(files["checkpoint/state.json"])
    pairs = dict((k, v) for k, v in structure["$dict"])
    pairs["step"] = -5
    structure["$dict"] = [[k, v] for k, v in pairs.items()]
    refused(hermetic, rezip(exported, {**files, "checkpoint/state.json": json.dumps(structure).encode()}), "step")


# --------------------------------------------------------------------------- damaged styles on disk


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flip-header":
        path.write_bytes(data[:10] + bytes([data[10] ^ 0xFF]) + data[11:])


@pytest.mark.parametrize(
    ("rel", "how", "needles"),
    [
        ("style.json", "truncate", ["style.json", "not valid JSON"]),
        ("tokenizer/vocab.json", "truncate", ["vocab.json", "not valid JSON"]),
        ("model.safetensors", "truncate", ["model.safetensors", "damaged weights"]),
        ("model.safetensors", "flip-header", ["model.safetensors", "damaged weights"]),
    ],
)
def test_a_truncated_or_altered_file_is_named(trained: str, rel: str, how: str, needles: list[str]) -> None:
    _damage(styles.style_path(trained) / rel, how)
    assert_error(invoke("generate", trained, "--length", "5"), 1, *needles)


def test_an_altered_style_json_or_vocabulary_is_named(trained: str) -> None:
    path = styles.style_path(trained)
    meta = json.loads((path / "style.json").read_text())
    (path / "style.json").write_text(json.dumps({**meta, "tokenizer": {"name": "char"}}))
    assert_error(invoke("generate", trained), 1, "style.json", "tokenizer.vocab_size is missing")
    (path / "style.json").write_text(json.dumps({**meta, "model": {**meta["model"], "config": {"hidden": "big"}}}))
    line = assert_error(invoke("generate", trained), 1, "style.json", "cannot be built from its config")
    assert "hidden must be a whole number" in line
    (path / "style.json").write_text(json.dumps(meta))
    vocab = json.loads((path / "tokenizer" / "vocab.json").read_text())
    vocab["chars"] = vocab["chars"][1:]
    (path / "tokenizer" / "vocab.json").write_text(json.dumps(vocab))
    assert_error(invoke("generate", trained), 1, "tokenizer", "the tokenizer files were changed")


def test_a_damaged_spm_tokenizer_is_named(tiny_corpus: str) -> None:
    settings = {"model_config": {"layers": 1, "hidden": 16, "embed": 8}, "batch_size": 2, "seq_len": 16}
    train(TrainConfig(corpus=tiny_corpus, name="sub", tokenizer="spm", tokenizer_config={"vocab_size": 300}, max_steps=2, eval_every=2, **settings))  # type: ignore[arg-type]  # fmt: skip
    folder = styles.style_path("sub") / "tokenizer"
    model = (folder / "spm.model").read_bytes()
    (folder / "spm.model").write_bytes(model[: len(model) // 3])
    with pytest.raises(StylegenError, match=r"spm\.model: not a SentencePiece model"):
        styles.load_style("sub")
    (folder / "spm.model").write_bytes(model)
    meta = json.loads((folder / "tokenizer.json").read_text())
    (folder / "tokenizer.json").write_text(json.dumps({**meta, "vocab_size": 7}))
    with pytest.raises(StylegenError, match=r"spm\.model: \d+ pieces, but tokenizer\.json says 7"):
        styles.load_style("sub")


class Payload:
    """Unpickling this would create the file `path`: the test of whether anything unpickles it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.write_text, (self.path, "code ran"))


def test_a_malicious_checkpoint_or_weights_file_runs_nothing(trained: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = styles.style_path(trained)
    torch.save({"model": Payload(marker)}, folder / checkpoint.CHECKPOINT)  # a torch file whose pickle runs code
    assert_error(invoke("train", trained, "--resume", "--max-steps", "130"), 1, "state.pt", "damaged checkpoint")
    (folder / "model.safetensors").write_bytes(pickle.dumps(Payload(marker)))
    assert_error(invoke("generate", trained), 1, "model.safetensors", "damaged weights")
    assert not marker.exists()
