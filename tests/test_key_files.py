"""Key material on disk (issue 29, build item 5): every key or bond file is created with
mode 0600 (never written open and chmod-ed after), and a signing key or keystore that its
group or others may read or change is refused with one clear error: `package sign --key`,
the companion's keystore and the emulated wearable's `<serial>-keys.json`."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from wearsense.firmware import device as device_mod
from wearsense.link.errors import LinkError
from wearsense.link.keystore import PrivateJsonKeyStore
from wearsense.link.stack import LocalLink, open_stack
from wearsense.store import Store
from wearsense.store.private_files import PrivateFileError, read_private, write_private
from wearsense.testing.loopback import Loopback
from wearsense.updates.errors import KeyFileError
from wearsense.updates.keys import (
    dev_signing_key,
    generate_key,
    load_public_key,
    load_signing_key,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
ROOT = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """The usual umask (022): a file created without an explicit mode is 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_write_private_creates_0600_and_replaces_a_loose_file_whole(
    tmp_path: Path, open_umask: object
) -> None:
    target = tmp_path / "sub" / "secret.bin"
    write_private(target, b"one")
    assert mode(target) == 0o600 and target.read_bytes() == b"one"
    loose = tmp_path / "loose.bin"
    loose.write_bytes(b"old")
    loose.chmod(0o644)
    write_private(loose, b"new")
    assert mode(loose) == 0o600 and loose.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loose.bin", "sub"]  # no temp left
    with pytest.raises(PrivateFileError, match="chmod 600"):
        loose.chmod(0o640)
        read_private(loose, "secret")


def test_generated_key_is_0600_even_over_a_world_readable_file(
    tmp_path: Path, open_umask: object
) -> None:
    path = tmp_path / "maker.ed25519.pem"
    generate_key(path)
    assert mode(path) == 0o600
    path.chmod(0o644)  # an old key file, replaced with --force
    generate_key(path, overwrite=True)
    assert mode(path) == 0o600


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o620, 0o660])
def test_a_signing_key_others_may_read_or_change_is_refused(tmp_path: Path, loose: int) -> None:
    path = tmp_path / "maker.ed25519.pem"
    key = generate_key(path)
    assert load_signing_key(path).public == key.public
    path.chmod(loose)
    expected = rf"other users \(mode {loose:04o}\).*chmod 600"
    with pytest.raises(KeyFileError, match=expected):
        load_signing_key(path)
    # ... and through $WEARSENSE_SIGNING_KEY, and as the source of a public key
    with pytest.MonkeyPatch.context() as env, pytest.raises(KeyFileError, match="other users"):
        env.setenv("WEARSENSE_SIGNING_KEY", str(path))
        load_signing_key(None)
    with pytest.raises(KeyFileError, match="other users"):
        load_public_key(path)
    # the public half beside it is public
    assert load_public_key(path.with_name("maker.ed25519.pub.pem")).raw == key.public.raw


def test_the_committed_dev_key_still_signs(tmp_path: Path) -> None:
    assert dev_signing_key().is_dev  # public on purpose: its mode is not checked


def test_package_sign_refuses_a_world_readable_key(tmp_path: Path) -> None:
    from update_helpers import versioned

    package = tmp_path / "afib.wspkg"
    package.write_bytes(versioned(2))
    key = tmp_path / "maker.ed25519.pem"
    generate_key(key)
    key.chmod(0o644)
    cli = [sys.executable, "-m", "wearsense.cli", "package", "sign", str(package)]
    refused = subprocess.run([*cli, "--key", str(key)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0
    assert "other users (mode 0644)" in refused.stderr and "Traceback" not in refused.stderr
    key.chmod(0o600)
    signed = subprocess.run([*cli, "--key", str(key)], capture_output=True, text=True, cwd=ROOT)
    assert signed.returncode == 0, signed.stderr


# ---- bond keys ----


def test_bonding_writes_both_keystores_0600(tmp_path: Path, open_umask: object) -> None:
    """The emulated wearable's and the companion's keystores after a real bond."""

    async def body() -> None:
        loop = await Loopback.open(device_mod.DeviceCore("WS-00A1B2C3"), tmp_path)
        store = Store(tmp_path / "companion.db")
        session = loop.session(store)
        runner = asyncio.create_task(session.run())
        try:
            await session.wait_streaming(20)
        finally:
            await session.stop()
            await runner
            store.close()
            await loop.close()

    asyncio.run(asyncio.wait_for(body(), 60))
    for name in ("device-keys.json", "companion-keys.json"):
        keystore = tmp_path / name
        assert keystore.exists() and b"ltk" in keystore.read_bytes().lower()
        assert mode(keystore) == 0o600, name
    assert not list(tmp_path.glob("*.tmp"))


def test_a_keystore_others_may_read_is_refused_at_open(tmp_path: Path) -> None:
    keystore = tmp_path / "WS-00A1B2C3-keys.json"
    keystore.write_text("{}")
    keystore.chmod(0o644)

    async def body() -> None:
        with pytest.raises(LinkError, match=r"bond keystore may be read .*mode 0644"):
            await open_stack("wearable", "F0:00:00:00:00:01", link=LocalLink(), keystore=keystore)

    asyncio.run(body())
    keystore.chmod(0o600)

    async def ok() -> None:
        stack = await open_stack(
            "wearable", "F0:00:00:00:00:01", link=LocalLink(), keystore=keystore
        )
        await stack.close()

    asyncio.run(ok())


def test_a_keystore_chmod_ed_open_after_the_start_is_refused_at_load(tmp_path: Path) -> None:
    keystore = tmp_path / "keys.json"
    store = PrivateJsonKeyStore(keystore)

    async def body() -> None:
        await store.delete_all()  # a save: creates the file
        assert mode(keystore) == 0o600
        keystore.chmod(0o604)
        with pytest.raises(PrivateFileError, match="mode 0604"):
            await store.get_all()

    asyncio.run(body())


def test_emulate_refuses_a_world_readable_keystore(tmp_path: Path) -> None:
    state = tmp_path / "emu"
    state.mkdir()
    keystore = state / "WS-00A1B2C3-keys.json"
    keystore.write_text("{}")
    keystore.chmod(0o644)
    done = subprocess.run(
        [sys.executable, "-m", "wearsense.cli", "emulate", "--state-dir", str(state)]
        + ["--transport", "tcp-client:127.0.0.1:9", "--duration", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode != 0
    assert "bond keystore may be read or changed by other users" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
