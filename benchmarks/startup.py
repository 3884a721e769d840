"""How long a user waits before stylegen answers: prints a table.

    python benchmarks/startup.py [--repeat 5] [--style shakespeare]

In one run, best of `--repeat` (each a fresh process, nothing kept warm): `python -c "import
torch"` (the floor the torch path stands on), `stylegen --help`, `stylegen generate STYLE
--length 200` end to end, without torch (the default for the built-in cells:
stylegen/torchless.py) and with it (`STYLEGEN_TORCH=1`), each against importing torch
(issue 18's target: at most 0.25 s more), `stylegen chat STYLE` answering one piped message on
each path, and
the app's first frame and its ready-to-chat time (`stylegen tui STYLE`, headless through
Textual's test driver: the first frame is Textual's Ready event, sent once the first frame has
been displayed; ready is when the style has loaded and a message would be answered; targets
0.6 s and 2 s).
The style is the shipped one unless `--style` names another. Then the same generation in
phases, timed inside one process, on each path: importing the CLI, torch (the torch path),
loading the style, the first character, the rest.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

APP_PROBE = r"""
import asyncio, sys, time
start = float(sys.argv[1])
from stylegen.tui.app import StylegenApp

class Probe(StylegenApp):
    first = None

    def on_ready(self):  # Textual's Ready: the first frame has been displayed (the app's own runs too)
        Probe.first = time.time() - start

async def main():
    app = Probe(sys.argv[2])
    async with app.run_test(size=(100, 30)):
        while Probe.first is None or getattr(app.screen, "session", None) is None:
            await asyncio.sleep(0.01)
        print(f"{Probe.first} {time.time() - start}")

asyncio.run(main())
"""


#: `stylegen generate STYLE --length 200` in phases, as its command runs them (one process).
GENERATE_PHASES = r"""
import sys, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import stylegen.cli
mark("import stylegen.cli (click, the commands)")
import torch
mark("import torch")
from stylegen import load_style
style = load_style(sys.argv[1])
mark("load the style (records, plugins, weights)")
from stylegen._generate import sample_stream
chunks = sample_stream(style, "", length=200, seed=1)
first = next(chunks)
mark("first character (prime fed, the step built)")
for _ in chunks:
    pass
mark("199 more characters")
print(" ".join(f"{b - a:.4f}" for (_, a), (_, b) in zip(marks, marks[1:])))
print("|".join(name for name, _ in marks[1:]))
"""


#: The same without torch (stylegen/torchless.py), as the command runs it by default.
TORCHLESS_PHASES = r"""
import sys, time
marks = [("start", time.perf_counter())]
def mark(name):
    marks.append((name, time.perf_counter()))
import stylegen.cli
mark("import stylegen.cli (click, the commands)")
from stylegen import TorchlessDecoder, stream, torchless_style
style = torchless_style(sys.argv[1], "auto", "temperature")
assert style is not None, "the style is not one the torch-free path writes"
mark("load the style without torch (records, plugins, weights)")
chunks = stream(TorchlessDecoder(style, params={"temperature": 0.8}, seed=1), "", 200)
first = next(chunks)
mark("first character (the step packed, prime fed)")
for _ in chunks:
    pass
mark("199 more characters")
assert "torch" not in sys.modules
print(" ".join(f"{b - a:.4f}" for (_, a), (_, b) in zip(marks, marks[1:])))
print("|".join(name for name, _ in marks[1:]))
"""


#: The message `stylegen chat` answers in the benchmark (piped; the same seed, the same answer on both paths).
CHAT_INPUT = "Good morrow, my lord.\n"


def generate_phases(style: str, repeat: int, script: str = GENERATE_PHASES) -> list[tuple[str, float]]:
    """Each phase's best time over `repeat` fresh processes."""
    best: list[float] = []
    names: list[str] = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", script, style], check=True, capture_output=True, text=True)
        times_line, names_line = done.stdout.strip().splitlines()[-2:]
        times = [float(t) for t in times_line.split()]
        names = names_line.split("|")
        best = times if not best else [min(a, b) for a, b in zip(best, times, strict=True)]
    return list(zip(names, best, strict=True))


def seconds(command: list[str], repeat: int, env: dict[str, str] | None = None, stdin: str | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env, input=stdin, text=stdin is not None)
        best = min(best, time.perf_counter() - start)
    return best


def app_seconds(style: str, repeat: int) -> tuple[float, float]:
    first, ready = float("inf"), float("inf")
    for _ in range(repeat):
        start = time.time()
        done = subprocess.run(
            [sys.executable, "-c", APP_PROBE, str(start), style], check=True, capture_output=True, text=True
        )
        a, b = (float(x) for x in done.stdout.split()[-2:])
        first, ready = min(first, a), min(ready, b)
    return first, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--style", default="shakespeare")
    args = parser.parse_args()
    exe = [sys.executable, "-m", "stylegen"]
    torch_s = seconds([sys.executable, "-c", "import torch"], args.repeat)
    help_s = seconds([*exe, "--help"], args.repeat)
    generate = [*exe, "generate", args.style, "--length", "200", "--seed", "1"]
    gen_s = seconds(generate, args.repeat, {**os.environ, "STYLEGEN_TORCH": "0"})
    gen_torch_s = seconds(generate, args.repeat, {**os.environ, "STYLEGEN_TORCH": "1"})
    chat = [*exe, "chat", args.style, "--seed", "1"]
    chat_s = seconds(chat, args.repeat, {**os.environ, "STYLEGEN_TORCH": "0"}, CHAT_INPUT)
    chat_torch_s = seconds(chat, args.repeat, {**os.environ, "STYLEGEN_TORCH": "1"}, CHAT_INPUT)
    first, ready = app_seconds(args.style, args.repeat)
    print(
        f"# startup: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, best of {args.repeat}"
    )
    print("| measure | seconds | target |")
    print("| --- | ---: | --- |")
    print(f"| `python -c 'import torch'` | {torch_s:.3f} | |")
    print(f"| `stylegen --help` | {help_s:.3f} | |")
    print(f"| `stylegen generate {args.style} --length 200`, without torch (the default) | {gen_s:.3f} | |")
    print(f"| the same with `STYLEGEN_TORCH=1` (the torch path) | {gen_torch_s:.3f} | |")
    print(f"| generate over importing torch, without torch | {gen_s - torch_s:+.3f} | at most 0.25 |")
    print(f"| generate over importing torch, the torch path | {gen_torch_s - torch_s:+.3f} | at most 0.25 |")
    print(f"| `stylegen chat {args.style}`, one message answered, without torch | {chat_s:.3f} | |")
    print(f"| the same with `STYLEGEN_TORCH=1` | {chat_torch_s:.3f} | |")
    print(f"| app: first frame | {first:.3f} | under 0.6 |")
    print(f"| app: ready to chat with {args.style} | {ready:.3f} | under 2 |")
    print()
    print(
        f"Where `stylegen generate {args.style} --length 200` goes, phase by phase in one process (best of {args.repeat}):"
    )
    for title, script in (("the torch path", GENERATE_PHASES), ("without torch", TORCHLESS_PHASES)):
        print()
        print(f"| phase, {title} | seconds |")
        print("| --- | ---: |")
        for name, value in generate_phases(args.style, args.repeat, script):
            print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()
