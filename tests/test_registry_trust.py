"""The package registry trusts what the device would trust (issue 29, build item 5): a
package is registered only when its hash and signature verify under a trusted key, so an
untrusted or tampered package is refused and leaves nothing behind (the genuine package of
the same version can still be added); the store's model_versions is written only from
what the device reports; `update push --db X` keeps its registry beside X."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from update_helpers import SHIPPED_AFIB, versioned

from wearsense.firmware.updatable import UpdatableDevice
from wearsense.protocol import Status
from wearsense.testing import adversarial as adv
from wearsense.updates import package as pkg
from wearsense.updates.keys import SigningKey, dev_signing_key, generate_key
from wearsense.updates.registry import (
    Registry,
    UntrustedPackage,
    default_registry_path,
)
from wearsense.updates.transfer import UpdateError

ROOT = Path(__file__).resolve().parents[1]
AFIB = 0
CLI = [sys.executable, "-m", "wearsense.cli"]


def other_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "attacker")


def untrusted(version: int) -> bytes:
    return pkg.sign(versioned(version), other_key())


def tampered(version: int) -> dict[str, bytes]:
    """A genuine DEV-signed package changed after signing, three ways."""
    good = versioned(version)
    model = bytearray(good)
    model[500] ^= 0x01  # a model byte: the hash in the header no longer matches
    signature = bytearray(good)
    signature[-1] ^= 0x40
    header = bytearray(good)
    header[8:10] = (version + 1).to_bytes(2, "little")  # the version, not signed again
    return {"model": bytes(model), "signature": bytes(signature), "header": bytes(header)}


def test_an_untrusted_package_is_refused_and_does_not_block_the_genuine_one(
    tmp_path: Path,
) -> None:
    with Registry(tmp_path / "updates.db") as registry:
        with pytest.raises(UntrustedPackage, match="does not trust"):
            registry.add(untrusted(10))
        assert registry.packages() == [] and registry.find(AFIB, 10) is None
        record = registry.add(versioned(10))  # once "already registered with other bytes"
        assert record.version == 10 and record.dev_key


@pytest.mark.parametrize("how", ["model", "signature", "header"])
def test_a_tampered_package_is_refused(tmp_path: Path, how: str) -> None:
    with Registry(tmp_path / "updates.db") as registry:
        with pytest.raises(UntrustedPackage, match="does not verify"):
            registry.add(tampered(10)[how])
        assert registry.packages() == []
        assert registry.add(versioned(10)).version == 10


def test_the_trusted_keys_are_the_registrys_choice(tmp_path: Path) -> None:
    maker = generate_key(tmp_path / "maker.ed25519.pem")
    by_maker = pkg.sign(versioned(3), maker)
    with Registry(tmp_path / "a.db", trusted_keys=[maker.public]) as registry:
        assert registry.add(by_maker).version == 3
        with pytest.raises(UntrustedPackage, match="DEVELOPMENT key"):
            registry.add(versioned(4))  # DEV-signed: a production registry refuses it
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WEARSENSE_TRUSTED_KEYS", str(tmp_path / "maker.ed25519.pub.pem"))
        with Registry(tmp_path / "b.db") as registry:
            assert [k.key_id for k in registry.trusted_keys] == [maker.public.key_id]
            with pytest.raises(UntrustedPackage):
                registry.add(versioned(4))
    with Registry(tmp_path / "c.db") as registry:  # default: the host firmware's key (DEV)
        assert registry.trusted_keys[0].is_dev
        with pytest.raises(UntrustedPackage):
            registry.add(by_maker)


def test_the_adversarial_set_registers_nothing(tmp_path: Path) -> None:
    key = dev_signing_key()
    valid = adv.sample_package(key, 600)
    attacks = list(adv.registry_attacks(valid, key, other_key()))
    assert len(attacks) > 2 * len(valid)
    with Registry(tmp_path / "updates.db") as registry:
        accepted = [name for name, data in attacks if adv.registry_accepts(registry, data)]
        assert accepted == [] and registry.packages() == []
        assert registry.add(valid).version == 5  # and the genuine package still goes in
    with Registry(tmp_path / "again.db") as registry:
        result = adv.run_registry(registry, valid, key, other_key())
    assert result.total == len(attacks) and result.accepted == []
    assert {"PKG_KEY", "PKG_SIGNATURE", "PKG_HASH", "PKG_FORMAT"} <= set(result.by_status)


def test_update_add_refuses_and_then_takes_the_genuine_package(tmp_path: Path) -> None:
    bad = tmp_path / "afib-v10-untrusted.wspkg"
    bad.write_bytes(untrusted(10))
    good = tmp_path / "afib-v10.wspkg"
    good.write_bytes(versioned(10))
    reg = ["update", "--registry", str(tmp_path / "updates.db"), "add"]
    refused = subprocess.run([*CLI, *reg, str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 1 and "does not trust" in refused.stderr
    added = subprocess.run([*CLI, *reg, str(good)], capture_output=True, text=True, cwd=ROOT)
    assert added.returncode == 0, added.stderr
    assert "registered afib v10" in added.stdout


def test_default_registry_is_beside_the_event_store(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("WEARSENSE_REGISTRY", raising=False)
        env.setenv("WEARSENSE_DB", str(tmp_path / "env" / "wearsense.db"))
        assert default_registry_path(tmp_path / "x" / "c.db") == tmp_path / "x" / "updates.db"
        assert default_registry_path() == tmp_path / "env" / "updates.db"
        env.setenv("WEARSENSE_REGISTRY", str(tmp_path / "r.db"))
        assert default_registry_path(tmp_path / "x" / "c.db") == tmp_path / "r.db"


def test_update_push_keeps_its_registry_beside_db_and_refuses_untrusted_first(
    tmp_path: Path,
) -> None:
    """An untrusted package is refused before any radio is opened (exit 1), and the
    registry it opened is the one beside --db, not in the user's data folder."""
    bad = tmp_path / "afib-v10.wspkg"
    bad.write_bytes(untrusted(10))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEARSENSE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    env["HOME"] = str(tmp_path / "home")
    db = tmp_path / "here" / "c.db"
    done = subprocess.run(
        [*CLI, "update", "push", str(bad), "--db", str(db), "--controllers", "1,2"]
        + ["--keystore", str(tmp_path / "keys.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "does not trust" in done.stderr
    assert (db.parent / "updates.db").exists()
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()
    with Registry(db.parent / "updates.db") as registry:
        assert registry.packages() == []


def test_a_package_the_device_refuses_is_never_recorded_as_installed(tmp_path: Path) -> None:
    """Trusted and well signed, but its self-test output is wrong: the device refuses it at
    commit. The store's model_versions must not name it (it named it before the push)."""
    from wearsense.store import Store
    from wearsense.testing.loopback import Loopback
    from wearsense.updates.rollout import ModelStatusWatcher, push_package

    old = versioned(1)
    raw = bytearray(versioned(2))
    raw[pkg.parse(bytes(raw)).header.selftest_offset + 8] ^= 0x7F  # expected output 0
    refused = pkg.sign(bytes(raw), dev_signing_key())

    async def scenario() -> None:
        dev = UpdatableDevice("WS-UPD")
        assert dev.provision(old) == Status.OK
        loop = await Loopback.open(dev, tmp_path)
        store = Store(tmp_path / "companion.db")
        watcher = ModelStatusWatcher()
        session = loop.session(store, on_stored=watcher.on_stored)
        runner = asyncio.create_task(session.run())
        registry = Registry(tmp_path / "updates.db")
        shipped = json.loads((SHIPPED_AFIB.parent / "metrics.json").read_text())
        registry.add(old, metrics=shipped)
        try:
            with pytest.raises(UpdateError):
                await push_package(session, watcher, refused, registry, force=True, history=store)
            assert dev.model_version(AFIB) == 1
            assert store.model_versions() == []
            assert [u["status"] for u in store.updates()] == ["started", "failed: PKG_SELFTEST"]
            assert registry.installed(dev.serial, AFIB) == 1
        finally:
            await session.stop()
            await runner
            registry.close()
            store.close()
            await loop.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
