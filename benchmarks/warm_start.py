"""Starting from a shipped style against starting from scratch, on a text that style never saw.

Builds a corpus from FILES (default: Vim's user manual, /usr/share/vim/vim*/doc/usr_*.txt,
about 640K characters of English prose that none of the shipped styles was trained on; the
last 10% held out), then trains, one after the other, each run for the same wall time:

  scratch        `--preset cpu`: what a user gets without --from
  scratch-same   the --from style's own model and shape, from a fresh initialisation, with the
                 preset's training settings: isolates what the weights bring from what the
                 shape brings
  from-STYLE     `--preset cpu --from STYLE`: the style's model and weights (shared characters
                 keep their embedding and output rows), the preset's training settings

and prints each run's curve and best validation bits/char. Do not run anything else
meanwhile: the budget is wall time. These are reported beside the from-scratch figures of
quality_curve.py and recipe_compare.py, never inside them.

    python benchmarks/warm_start.py                          # 5 minutes each, from shakespeare
    python benchmarks/warm_start.py --minutes 2 --from python --files 'my/texts/*.txt'
"""

from __future__ import annotations

import argparse
import glob
import os
import tempfile
import time
from typing import Any


class Curve:
    def __init__(self) -> None:
        self.points: list[tuple[int, float, float]] = []  # (step, seconds, val bits/char)

    def on_event(self, event: Any) -> None:
        if event["event"] == "eval":
            self.points.append((int(event["step"]), float(event["elapsed"]), float(event["val_bpc"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--from", dest="source", default="shakespeare", help="the style to start from")
    parser.add_argument("--files", default="/usr/share/vim/vim*/doc/usr_*.txt", help="a glob of text files")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--runs", default="scratch,scratch-same,from", help="which runs, in order")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(glob.glob(args.files))
    if not files:
        parser.error(f"no files match {args.files!r} (give --files)")
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STYLEGEN_HOME"] = tmp
        os.environ.setdefault("STYLEGEN_LOAD_PLUGINS", "")
        from stylegen import preset, styles
        from stylegen.corpus import build_corpus
        from stylegen.training import TrainConfig, train

        corpus = build_corpus("unseen", files, val_fraction=0.1)
        split = corpus.manifest.split
        source = styles.load_style(args.source)
        settings, options = preset(args.preset)
        model = settings.pop("model")
        settings["eval_every"] = args.eval_every
        print(
            f"# warm_start: {args.minutes:g} minutes each, {len(files)} files, {split.train_chars:,} training and "
            f"{split.val_chars:,} validation characters; from {args.source!r} ({source.meta.model.name} "
            f"{source.meta.model.config}); torch {torch.__version__}, {torch.get_num_threads()} threads",
            flush=True,
        )
        runs: dict[str, dict[str, Any]] = {
            "scratch": {"model": model, "model_config": options},
            "scratch-same": {"model": source.meta.model.name, "model_config": dict(source.meta.model.config)},
            "from": {"init_from": args.source},
        }
        rows = []
        for name in args.runs.split(","):
            curve = Curve()
            cfg = TrainConfig(
                corpus="unseen", name="w", max_minutes=args.minutes, device="cpu", seed=args.seed,
                preset=args.preset, **settings, **runs[name],
            )  # fmt: skip
            start = time.monotonic()
            meta = train(cfg, observers=[curve], replace=True)
            label = f"from-{args.source}" if name == "from" else name
            points = " ".join(f"{step}:{bpc:.3f}" for step, _, bpc in curve.points)
            print(f"\n## {label}: {cfg.model} {cfg.model_config}\nstep:val bits/char  {points}", flush=True)
            first = curve.points[0] if curve.points else (0, 0.0, float("nan"))
            rows.append((label, cfg.model, meta, first, time.monotonic() - start))
        print("\nrun | model | params | steps | first validation (step: bits/char) | best val bits/char | wall s")
        print("--- | --- | --- | --- | --- | --- | ---")
        for label, model_name, meta, first, wall in rows:
            print(f"{label} | {model_name} | {meta['params']:,} | {meta['steps']} | {first[0]}: {first[2]:.3f} | "
                  f"{meta['val_bpc']:.3f} | {wall:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
