"""What `--help` tells a newcomer: the app, the shipped style, the optional prime."""

from __future__ import annotations

from click.testing import CliRunner

from stylegen.cli import cli


def help_of(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_top_help_names_the_app_and_the_shipped_style() -> None:
    text = help_of()
    assert "stylegen tui" in text and "the app" in text
    assert "shakespeare" in text  # a style to try before training one
    assert "stylegen chat shakespeare" in text or "stylegen generate shakespeare" in text


def test_generate_help_says_the_prime_is_optional() -> None:
    text = help_of("generate")
    assert "starting with --prime" not in text
    assert "--prime is optional" in text
