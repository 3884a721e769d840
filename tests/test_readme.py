"""README facts a newcomer acts on: the app's screen count, chat examples on a style that
exists, and the CUDA-download warning before the install command."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_screen_count_matches_the_app() -> None:
    from stylegen.tui.widgets.nav import SCREENS

    screens = len(SCREENS)
    words = {5: "Five", 6: "Six", 7: "Seven"}
    assert f"{words[screens]} screens" in README
    assert "Five screens" not in README or screens == 5


def test_chat_examples_use_a_style_the_reader_has() -> None:
    styles = set(re.findall(r"stylegen chat (\w[\w-]*)", README))
    styles |= set(re.findall(r'load_style\("([\w-]+)"\)\.chat', README))
    shipped = {p.name for p in (Path(__file__).resolve().parent.parent / "stylegen" / "shipped").iterdir()}
    built = set(re.findall(r"stylegen train \S+ --name ([\w-]+)", README)) | shipped | {"mine", "STYLE"}
    assert styles and styles <= built, styles - built


def test_the_cpu_note_comes_before_the_install_command() -> None:
    install = README.index("pip install . && stylegen")
    assert README.index("CUDA build") < install and README.index("CPU") < install
