"""Which key a firmware build trusts is a build option (issue 29, build item 5;
docs/model-package.md, "Keys"): -DWS_TRUST_DEV_KEY=1 for the emulator and the tests, a
header generated from a maker's public key for production. A production build refuses a
DEV-signed package; a build that chooses no key, or hands the DEV key in as a maker's,
does not compile."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from update_helpers import versioned

from wearsense.protocol import Status
from wearsense.updates import package as pkg
from wearsense.updates.keys import DEV_PUBLIC_KEY_PATH, generate_key

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware"
SOURCES = [
    FW / "tests" / "trusted_key_check.c",
    FW / "src" / "updates" / "trusted_key.c",
    FW / "src" / "updates" / "pkg.c",
    *sorted((FW / "src" / "crypto").glob("*.c")),
]
GEN = [sys.executable, str(ROOT / "tools" / "gen_trusted_key.py")]

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def build(out: Path, *defines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{FW / 'include'}"]
        + list(defines)
        + [*map(str, SOURCES), "-o", str(out)],
        capture_output=True,
        text=True,
    )


def check(program: Path, package: Path) -> tuple[Status, bool]:
    out = subprocess.run([str(program), str(package)], capture_output=True, text=True, check=True)
    fields = dict(f.split("=") for f in out.stdout.split())
    return Status(int(fields["status"], 16)), fields["is_dev"] == "1"


@pytest.fixture(scope="module")
def maker(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A maker's key pair and the production header generated from its public half."""
    folder = tmp_path_factory.mktemp("maker")
    generate_key(folder / "maker.ed25519.pem")
    header = folder / "gen" / "trusted_key.h"
    subprocess.run(
        [*GEN, "--public-key", str(folder / "maker.ed25519.pub.pem"), "--out", str(header)],
        check=True,
        capture_output=True,
    )
    return folder / "maker.ed25519.pem", header


def test_a_production_build_refuses_a_dev_signed_package(
    tmp_path: Path, maker: tuple[Path, Path]
) -> None:
    from wearsense.updates.keys import load_signing_key

    key_path, header = maker
    program = tmp_path / "production"
    built = build(program, f'-DWS_TRUSTED_KEY_HEADER="{header}"')
    assert built.returncode == 0, built.stderr
    dev_signed = tmp_path / "dev.wspkg"
    dev_signed.write_bytes(versioned(2))
    maker_signed = tmp_path / "maker.wspkg"
    maker_signed.write_bytes(pkg.sign(versioned(2), load_signing_key(key_path)))
    assert check(program, dev_signed) == (Status.PKG_KEY, False)
    assert check(program, maker_signed) == (Status.OK, False)


def test_the_dev_build_trusts_the_dev_key_only(tmp_path: Path, maker: tuple[Path, Path]) -> None:
    from wearsense.updates.keys import load_signing_key

    program = tmp_path / "dev"
    built = build(program, "-DWS_TRUST_DEV_KEY=1")
    assert built.returncode == 0, built.stderr
    dev_signed = tmp_path / "dev.wspkg"
    dev_signed.write_bytes(versioned(2))
    maker_signed = tmp_path / "maker.wspkg"
    maker_signed.write_bytes(pkg.sign(versioned(2), load_signing_key(maker[0])))
    assert check(program, dev_signed) == (Status.OK, True)
    assert check(program, maker_signed)[0] == Status.PKG_KEY


def test_a_build_must_choose_one_key(tmp_path: Path, maker: tuple[Path, Path]) -> None:
    none = build(tmp_path / "none")
    assert none.returncode != 0 and "no trusted key" in none.stderr
    both = build(tmp_path / "both", "-DWS_TRUST_DEV_KEY=1", f'-DWS_TRUSTED_KEY_HEADER="{maker[1]}"')
    assert both.returncode != 0 and "not both" in both.stderr


def test_the_dev_key_cannot_pass_for_a_makers(tmp_path: Path) -> None:
    refused = subprocess.run(
        [*GEN, "--public-key", str(DEV_PUBLIC_KEY_PATH), "--out", str(tmp_path / "k.h")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "DEVELOPMENT key" in refused.stderr
    assert not (tmp_path / "k.h").exists()
    # the committed DEV header handed in as a maker's header does not compile
    dev_header = FW / "src" / "updates" / "dev_key.h"
    built = build(tmp_path / "p", f'-DWS_TRUSTED_KEY_HEADER="{dev_header}"')
    assert built.returncode != 0 and "DEVELOPMENT key" in built.stderr


def test_committed_dev_header_is_what_the_generator_writes(tmp_path: Path) -> None:
    before = (FW / "src" / "updates" / "dev_key.h").read_text()
    out = tmp_path / "dev_key.h"
    subprocess.run([*GEN, "--out", str(out)], check=True, capture_output=True)
    assert out.read_text() == before
