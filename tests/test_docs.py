"""The README states what the code does: the contract table and the two leading commands."""

from pathlib import Path

from analysis.contract import TABLES, contract_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_readme_contract_table_is_generated_from_contract() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert contract_markdown() in readme
    assert contract_markdown().count("\n") == len(TABLES) + 1


def test_readme_leads_with_the_two_commands() -> None:
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[1] == "```"
    assert lines[2].startswith("make report") and lines[3].startswith("make test") and lines[4] == "```"


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
