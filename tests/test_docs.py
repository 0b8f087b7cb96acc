"""The README states what the code does: the contract table and the two leading commands."""

from pathlib import Path

from analysis.contract import REQUIRED_TABLES, TABLES, contract_markdown

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


def _readme_block(after: str) -> str:
    """The first fenced block after the line ``after`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(after, 1)[1].split("```", 2)[1].split("\n", 1)[1]


def _minimal_folder(folder: Path) -> dict[str, list[str]]:
    """Write the README's minimal example folder; return its files as lines."""
    import re

    files: dict[str, list[str]] = {}
    current = ""
    for line in _readme_block("A minimal folder (five required tables):").strip("\n").splitlines():
        match = re.match(r"^(\S+\.csv)\s+(.*)$", line)
        if match:
            current = match.group(1)
            files[current] = [match.group(2)]
        elif line.strip():
            files[current].append(line.strip())
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def test_readme_minimal_folder_passes_the_contract(tmp_path: Path) -> None:
    from analysis.data import load_dataset

    files = _minimal_folder(tmp_path / "minimal")
    assert sorted(files) == sorted(f"{name}.csv" for name in REQUIRED_TABLES)
    ds = load_dataset(tmp_path / "minimal")
    assert ds.employees["employee_id"].tolist() == ["E001"]
    assert ds.kpi_monthly["value"].tolist() == [98000.0]


def test_readme_mapping_example_maps_a_renamed_export(tmp_path: Path) -> None:
    import yaml

    from analysis.data import load_dataset

    folder = tmp_path / "export"
    _minimal_folder(folder)
    mapping_text = _readme_block("names and codes onto the contract's; errors then name both your column and the contract's:")
    mapping = yaml.safe_load(mapping_text)
    renamed = {contract: user for user, contract in mapping["columns"]["employees"].items()}
    lines = (folder / "employees.csv").read_text(encoding="utf-8").splitlines()
    lines[0] = ",".join(renamed[c] for c in lines[0].split(","))
    (folder / "employees.csv").unlink()
    (folder / mapping["files"]["employees"]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    enrollments = folder / "enrollments.csv"
    enrollments.write_text(enrollments.read_text(encoding="utf-8").replace(",completed,", ",C,"), encoding="utf-8")
    (folder / "mapping.yaml").write_text(mapping_text, encoding="utf-8")
    ds = load_dataset(folder)
    assert ds.employees["employee_id"].tolist() == ["E001"]
    assert ds.enrollments["status"].tolist() == ["completed"]
