"""End-to-end runs of the `rewardkit` command, as a user types it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

GOOD = "<think>2+2=4</think><answer>4</answer>"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rewardkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rewards.yaml"
    path.write_text(
        "rewards:\n"
        "  - name: think_format\n    weight: 0.5\n"
        "  - name: math\n    weight: 1.0\n    gate: think_format\n"
        "  - name: length\n    weight: 0\n    params: {unit: chars, target: 40}\n"
    )
    return path


def test_score_writes_each_row_back_with_its_rewards_in_input_order(tmp_path: Path, config: Path) -> None:
    rows = [{"id": i, "prompt": "2+2?", "completion": GOOD if i % 2 else "<answer>4</answer>", "answer": "4"}
            for i in range(300)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    result = run("score", str(source), "--config", str(config), "-o", "out.jsonl", "-j", "2", "--chunk-lines", "7",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == list(range(300))
    assert out[1]["rewards"] == {"think_format": 1.0, "math": 1.0, "length": 1 - abs(len(GOOD) - 40) / 40}
    assert out[1]["reward"] == 1.5 and out[0]["reward"] == 0.0
    assert {k: out[3][k] for k in rows[3]} == rows[3]  # the input is kept as it was
    assert "think_format" in result.stderr and "300 lines scored, 0 invalid" in result.stderr


def test_invalid_lines_are_reported_with_numbers_and_valid_lines_still_scored(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [
        {"completion": GOOD}, "{oops", {"completion": 3}, "", {"prompt": "no completion"}, {"completion": "x"},
    ])
    result = run("score", str(source), "-r", "think_format", "-o", "out.jsonl", "--rejects", "bad.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{source}:2: invalid JSON" in result.stderr
    rejects = [json.loads(line) for line in (tmp_path / "bad.jsonl").read_text().splitlines()]
    assert [(r["line"], r["raw"]) for r in rejects] == [(2, "{oops"), (3, '{"completion": 3}'),
                                                        (5, '{"prompt": "no completion"}')]
    assert rejects[1]["error"].startswith("field 'completion': expected a string")
    assert f"{source}:3: field 'completion': expected a string" in result.stderr
    assert f"{source}:5: field 'completion': missing" in result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["reward"] for o in out] == [1.0, 0.0]
    assert "2 lines scored, 3 invalid" in result.stderr


def test_reward_weights_from_the_command_line_and_details(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"completion": [{"role": "assistant", "content": GOOD}]}])
    result = run("score", str(source), "-r", "think_format:0.25", "-r", "tag_count", "--details", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    out = json.loads(line)
    assert out["reward"] == 1.25
    assert out["reward_details"]["think_format"]["status"] == "ok"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-r", "think_fromat"], "Did you mean 'think_format'?"),
        ([], "no rewards to score"),
        (["-r", "length:heavy"], "the weight after ':' must be a number"),
    ],
)
def test_configuration_mistakes_exit_2_with_a_one_line_error(tmp_path: Path, args: list[str], message: str) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"completion": GOOD}])
    result = run("score", str(source), *args, "-o", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_an_interrupted_run_never_leaves_a_half_file(tmp_path: Path) -> None:
    rows = [{"completion": GOOD * 50, "answer": "4"} for _ in range(100_000)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    (tmp_path / "out.jsonl").write_text("previous results\n")
    proc = subprocess.Popen([sys.executable, "-m", "rewardkit", "score", str(source), "-r", "repetition",
                             "-o", "out.jsonl", "-j", "1"], cwd=tmp_path, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in tmp_path.glob(".out.jsonl.*.tmp")):
        assert proc.poll() is None, "finished before it was seen writing; make the input larger"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)  # mid-write: results are half written to the temporary file
    proc.wait()
    assert (tmp_path / "out.jsonl").read_text() == "previous results\n"


def test_list_and_describe(tmp_path: Path) -> None:
    listing = run("list", "--json", cwd=tmp_path)
    names = {r["name"] for r in json.loads(listing.stdout)}
    assert {"think_format", "math", "length"} <= names
    described = json.loads(run("describe", "length", "--json", cwd=tmp_path).stdout)
    assert described["range"] == [0.0, 1.0]
    assert {p["name"] for p in described["params"]} >= {"target", "unit"}
    text = run("describe", "length", cwd=tmp_path).stdout
    assert "target" in text and "parameters" in text
    missing = run("describe", "lenght", cwd=tmp_path)
    assert missing.returncode == 2 and "Did you mean 'length'?" in missing.stderr


def test_token_lengths_without_ids_or_tokenizer_fail_before_scoring(tmp_path: Path) -> None:
    # length in tokens, rows without completion_ids and no tokenizer: every row would be masked, so stop first.
    source = write_jsonl(tmp_path / "in.jsonl", [{"completion": GOOD}] * 3)
    result = run("score", str(source), "-r", "length", "-r", "think_format", "-o", "out.jsonl", cwd=tmp_path)
    assert result.returncode == 2
    assert "term 'length' needs column 'completion_ids'" in result.stderr
    assert "set params.tokenizer" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_an_infrastructure_error_rate_over_budget_fails_the_run_but_keeps_the_output(tmp_path: Path) -> None:
    # a judge whose server is down for every row: masked and counted, the run fails, the output is kept.
    source = write_jsonl(tmp_path / "in.jsonl", [{"completion": GOOD, "answer": "4"}] * 3)
    config = tmp_path / "c.yaml"
    config.write_text("rewards:\n  - {name: think_format}\n  - name: judge\n    params: {base_url: "
                      "'http://127.0.0.1:9/v1', model: m, max_retries: 0, max_error_rate: 1.0}\n")
    result = run("score", str(source), "-c", str(config), "-o", "out.jsonl", "-j", "0", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "100% of 'judge' scores failed" in result.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["rewards"] for o in out] == [{"think_format": 1.0, "judge": None}] * 3
    assert [o["reward"] for o in out] == [None] * 3  # masked, never a silent 0


def test_score_on_ray_writes_the_same_file_as_local_scoring(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="pip install 'rewardkit[ray]'")
    rows = [{"id": i, "completion": GOOD if i % 3 else "<answer>4</answer>", "answer": "4"} for i in range(40)]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    local = run("score", str(source), "-r", "think_format", "-r", "tag_count", "-o", "local.jsonl", cwd=tmp_path)
    on_ray = run("score", str(source), "-r", "think_format", "-r", "tag_count", "-o", "ray.jsonl", "--engine", "ray",
                 "-j", "1", "--chunk-lines", "8", cwd=tmp_path)
    assert local.returncode == 0 and on_ray.returncode == 0, on_ray.stderr
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


@pytest.mark.parametrize(("gold", "answer", "status", "verdict"), [
    ("\\frac{1}{2}", "The answer is $0.5$.", 0, "EQUIVALENT"),
    ("42", "The answer is definitely not 42.", 1, "NOT EQUIVALENT"),  # scripts can tell a miss apart
])
def test_verify_exit_status_says_the_verdict(tmp_path: Path, gold: str, answer: str, status: int, verdict: str
                                             ) -> None:
    result = run("verify", gold, answer, cwd=tmp_path)
    assert result.returncode == status and f"verdict:      {verdict} " in result.stdout


def test_check_takes_rewards_and_the_gold_column_like_score(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", [{"completion": "x", "solution": "42"}, {"completion": "y",
                                                                                         "solution": "7"}])
    result = run("check", str(source), "-r", "math", "--reference-column", "solution", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gold parses 2/2 (100.0%)" in result.stdout
    missing = run("score", str(source), "-r", "math", cwd=tmp_path)
    assert missing.returncode == 2
    assert "math grade against a gold answer in column 'answer', but no row has that column" in missing.stderr
    assert "Name the gold column with --reference-column COLUMN" in missing.stderr


def test_markup_in_names_is_printed_as_written(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", [{"completion": "x"}])
    for bad, shown in (("mat[bold]h", "unknown reward 'mat[bold]h'"), ("[/x]", "unknown reward '[/x]'")):
        result = run("score", str(source), "-r", bad, cwd=tmp_path)
        assert result.returncode == 2 and shown in result.stderr and "Traceback" not in result.stderr


def test_rewards_given_as_a_string_say_how_to_write_a_list(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", [{"completion": "x"}])
    config = tmp_path / "c.yaml"
    config.write_text("rewards: math\n")
    result = run("score", str(source), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2 and "'rewards' must be a list of terms" in result.stderr


def test_yaml_errors_name_the_file_and_an_empty_file_is_an_error(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "d.jsonl", [])
    config = tmp_path / "c.yaml"
    config.write_text("rewards: [\n")
    result = run("score", str(source), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2 and f'in "{config}"' in result.stderr and "<unicode string>" not in result.stderr
    empty = run("score", str(source), "-r", "think_format", cwd=tmp_path)
    assert empty.returncode == 1 and "no rows to score" in empty.stderr
