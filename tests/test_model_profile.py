"""`wearsense model profile`: one inference on the emulated Cortex-M4 (QEMU) per shipped
model, and the refusals that need no QEMU."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wearsense.cli import main
from wearsense.firmware.nn import NNModel
from wearsense.testing import m4profile
from wearsense.tflite import write_tflite
from wearsense.tflite.reader import read_tflite

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "models").glob("*/*.tflite"))
KEYS = {
    "m4_instructions",
    "macs",
    "instructions_per_mac",
    "ram_bytes",
    "arena_bytes",
    "state_bytes",
    "flash_bytes",
    "load_m4_instructions",
    "per_op",
}


@pytest.mark.m4
@pytest.mark.skipif(not m4profile.available(), reason="no ARM toolchain or QEMU (make toolchain)")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_profile_of_a_shipped_model(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "profile", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert "QEMU" in captured.err  # the progress message goes to stderr, JSON alone to stdout
    result = json.loads(captured.out)
    assert set(result) >= KEYS
    host = NNModel(path.read_bytes())
    assert result["bit_exact"] is True
    assert result["macs"] == host.macs
    assert result["arena_bytes"] == host.arena_bytes
    assert result["ram_bytes"] == result["arena_bytes"] + result["state_bytes"]
    assert result["state_bytes"] > 0
    assert result["flash_bytes"] > path.stat().st_size
    assert result["load_m4_instructions"] > 0
    assert result["instructions_per_mac"] == round(result["m4_instructions"] / host.macs, 3)
    per_op = result["per_op"]
    assert [op["index"] for op in per_op] == list(range(len(host.op_codes)))
    assert [op["op"] for op in per_op] == [op.op for op in read_tflite(path.read_bytes()).operators]
    assert sum(op["macs"] for op in per_op) == host.macs
    # one operator at a time costs the same as the whole inference, give or take the calls
    summed = sum(op["m4_instructions"] for op in per_op)
    assert abs(summed - result["m4_instructions"]) <= 0.05 * result["m4_instructions"]


def test_profile_refuses_a_file_that_is_not_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.tflite"
    path.write_bytes(b"these are not the weights you are looking for")
    assert main(["model", "profile", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not a TFLite model" in err and "WS_ERR_NN_FORMAT" in err
    assert main(["model", "profile", str(tmp_path / "missing.tflite")]) == 2


def test_profile_names_what_the_interpreter_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = read_tflite(SHIPPED[0].read_bytes())
    model.operators[1].version = 50
    path = tmp_path / "future.tflite"
    path.write_bytes(write_tflite(model))
    assert main(["model", "profile", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "refused" in captured.err and "WS_ERR_NN_OP_VERSION" in captured.err
    assert "at operator 1" in captured.err


def test_parse_output_reads_every_output_and_operator() -> None:
    text = (
        "WS-PROF load status=0 failed_op=-1 systick=10\n"
        "WS-PROF arena bytes=64 activations=48 requant=16 scratch=0 state=100\n"
        "WS-PROF set_arena status=0 systick=2\nWS-PROF invoke status=0 systick=7\n"
        "WS-PROF output index=0 bytes=3\nWS-PROF hex 0102ff\n"
        "WS-PROF output index=1 bytes=0\n"
        "WS-PROF op index=0 code=3 macs=9 systick=5 status=0\n"
        "WS-PROF stack_used=12\nWS-PROF done\n"
    )
    parsed = m4profile.parse_output(text)
    assert parsed["load"] == {"status": 0, "failed_op": -1, "systick": 10}
    assert parsed["arena"]["state"] == 100
    assert parsed["outputs"] == [b"\x01\x02\xff", b""]
    assert parsed["ops"] == [{"index": 0, "code": 3, "macs": 9, "systick": 5, "status": 0}]
    assert parsed["stack_used"] == 12


def test_profile_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["model", "profile", "--help"])
    assert done.value.code == 0
    assert "Cortex-M4" in capsys.readouterr().out
