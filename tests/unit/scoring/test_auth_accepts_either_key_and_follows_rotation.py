"""Keys come from the mounted Secret, either key works, and a rotated key is picked up without restart."""

from __future__ import annotations

from pathlib import Path

from mlops_operator.scoring.auth import KeyStore, key_store_from


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_keys(directory: Path, primary: str, secondary: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "primaryKey").write_text(primary)
    (directory / "secondaryKey").write_text(secondary)


def test_no_keys_directory_configured_means_no_auth() -> None:
    assert key_store_from(None) is None
    assert key_store_from("") is None


def test_either_key_is_accepted_as_a_bearer_token(tmp_path: Path) -> None:
    write_keys(tmp_path, "p-key", "s-key")
    store = KeyStore(str(tmp_path))
    assert store.authorised(b"Bearer p-key")
    assert store.authorised(b"bearer s-key")
    assert not store.authorised(b"Bearer other")
    assert not store.authorised(b"p-key")
    assert not store.authorised(None)


def test_a_rotated_key_is_used_after_the_recheck_interval(tmp_path: Path) -> None:
    write_keys(tmp_path, "old", "spare")
    clock = FakeClock()
    store = KeyStore(str(tmp_path), clock=clock)
    write_keys(tmp_path, "new-primary-key", "spare")
    assert store.authorised(b"Bearer old")  # within a second of the last check: not re-read yet
    clock.now = 1.5
    assert store.authorised(b"Bearer new-primary-key")
    assert not store.authorised(b"Bearer old")


def test_an_empty_keys_directory_refuses_everyone(tmp_path: Path) -> None:
    write_keys(tmp_path, "", "")
    assert not KeyStore(str(tmp_path)).authorised(b"Bearer ")
