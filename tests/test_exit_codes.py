"""The exit codes CI scripts rely on are the ones the README documents."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from ecsdeploy.cli import cli
from ecsdeploy.errors import ExitStatus

ROOT = Path(__file__).resolve().parents[1]


def _readme_table() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Exit codes") :]
    section = section[: section.index("\n\n", section.index("| code |"))]
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r"^\| (\d+) \| (.*) \|$", section, re.MULTILINE)
    }


def test_every_exit_status_is_in_the_readme() -> None:
    table = _readme_table()
    assert sorted(table) == sorted(int(s) for s in ExitStatus)
    assert "interrupted (Ctrl-C, SIGTERM)" in table[130]
    assert 'answered "no"' in table[0]


def test_apply_help_says_a_declined_apply_exits_0() -> None:
    result = CliRunner().invoke(cli, ["apply", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exit status: 0 deployed, or nothing to do, or the question answered no" in text
    assert "130 interrupted" in text
