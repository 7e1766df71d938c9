"""`orders-lakehouse simulate` end to end on files: exact counts, reproducibility, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orders_lakehouse.cli import main


def lines(landing: Path) -> list[bytes]:
    return [line for path in sorted(landing.iterdir()) for line in path.read_bytes().splitlines()]


def simulate(tmp_path: Path, name: str, *extra: str) -> list[bytes]:
    code = main(
        [
            "simulate",
            "--to",
            "files",
            "--landing",
            str(tmp_path / name),
            "--events",
            "300",
            "--rate",
            "0",
            "--seed",
            "9",
            "--start-time",
            "2026-11-29T07:00:00Z",
            "--bad-rate",
            "0.05",
            "--batch-size",
            "64",
            "--no-progress",
            "--truth",
            str(tmp_path / f"{name}.json"),
            *extra,
        ]
    )
    assert code == 0
    return lines(tmp_path / name)


def test_exactly_n_messages_reproducible_with_seed_and_start_time(tmp_path: Path, capsys) -> None:
    first = simulate(tmp_path, "a")
    out = capsys.readouterr().out
    second = simulate(tmp_path, "b")
    assert len(first) == 300
    assert first == second  # byte for byte, ids and timestamps included
    assert len(list((tmp_path / "a").iterdir())) == 5  # 64 + 64 + 64 + 64 + 44
    truth = json.loads((tmp_path / "a.json").read_text())
    assert truth["messages"] == 300
    assert truth["start_time"] == "2026-11-29T07:00:00Z"
    assert out.startswith("sent 300 messages in ")
    assert out.rstrip().endswith(f"; ground truth in {tmp_path / 'a.json'}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "files"], "error: --to files needs --landing DIR"),
        (["--to", "kafka"], "error: --to kafka needs --bootstrap HOST:PORT"),
        (["--to", "eventhubs"], "error: --to eventhubs needs --namespace NS"),
        (
            ["--to", "files", "--landing", "x", "--rate", "0", "--duration", "5"],
            "error: --duration needs a --rate above 0 (it sends rate × duration messages)",
        ),
    ],
)
def test_argument_errors_are_one_line(args: list[str], message: str, capsys, monkeypatch) -> None:
    monkeypatch.delenv("EVENTHUBS_CONNECTION_STRING", raising=False)
    assert main(["simulate", *args]) == 2
    assert capsys.readouterr().out == message + "\n"


def test_eventhubs_without_secret_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.delenv("EVENTHUBS_CONNECTION_STRING", raising=False)
    assert main(["simulate", "--to", "eventhubs", "--namespace", "ns"]) == 2
    assert (
        capsys.readouterr().out
        == "error: set EVENTHUBS_CONNECTION_STRING to the Event Hubs connection string (Endpoint=sb://...)\n"
    )
