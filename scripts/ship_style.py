"""Copy a trained style into the package as a shipped style (stylegen/shipped/NAME/).

    STYLEGEN_HOME=... python scripts/ship_style.py shakespeare --recipe corpora/shakespeare.toml

Keeps what generation and chat need, nothing a user's data home would: style.json (with the
recipe and training command recorded), the tokenizer, the weights stored as float16 (half
the size; loading converts them back to float32, max rounding error ~1e-3 relative), and the
validation lines of metrics.jsonl. No checkpoint, no originality index (it is rebuilt from
the recipe on first use of --check-copy).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from stylegen import home, styles

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("--recipe", required=True, help="The corpus recipe the style was trained on.")
    parser.add_argument("--command", default="", help="The training command, recorded in style.json.")
    args = parser.parse_args()
    src = styles.user_style_path(args.name)
    meta = styles.read_meta(args.name)
    if meta.shipped:
        sys.exit(f"{args.name} is already the shipped style; train it into STYLEGEN_HOME first")
    dest = ROOT / "stylegen" / "shipped" / args.name
    with home.staged_dir(dest, replace=True) as tmp:
        shutil.copytree(src / styles.TOKENIZER_DIR, tmp / styles.TOKENIZER_DIR)
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(src / styles.WEIGHTS)).items()}
        save_file(tensors, str(tmp / styles.WEIGHTS), metadata={"format": "pt", "stylegen": str(styles.FORMAT_VERSION)})
        shutil.copyfile(args.recipe, tmp / "recipe.toml")  # what --check-copy rebuilds its index from
        meta = dataclasses.replace(meta, recipe="recipe.toml", train_command=args.command)
        home.write_json(tmp / styles.STYLE_JSON, meta.to_json())
        evals = [line for line in (src / "metrics.jsonl").read_text().splitlines() if '"event": "eval"' in line]
        home.write_text(tmp / "metrics.jsonl", "\n".join(evals) + "\n")
    for path in [dest, *dest.rglob("*")]:  # package data: readable by everyone (temp files are 0600)
        path.chmod(0o755 if path.is_dir() else 0o644)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    print(json.dumps({"shipped": str(dest), "bytes": size, "val_bpc": meta.val_bpc}))


if __name__ == "__main__":
    main()
