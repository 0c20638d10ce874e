"""Key authentication against the endpoint keys Secret mounted as files `primaryKey` and `secondaryKey`.

Kubernetes updates a mounted Secret in place (an atomic symlink swap), so key rotation needs no restart:
the files' identities (mtime, inode, size) are checked at most once per second and the keys re-read when they change.
Comparison is constant-time so the response time does not reveal how much of a key was right.

Auth fails closed: once a keys directory is configured, missing or empty key files mean every protected
request is refused and the server reports not Ready, never that it serves without auth.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable

logger = logging.getLogger("mlops.scoring")

KEY_FILES = ("primaryKey", "secondaryKey")
RECHECK_SECONDS = 1.0
BEARER = b"bearer "


class KeyStore:
    """The accepted keys, refreshed from `directory` when the files change."""

    def __init__(self, directory: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._clock = clock
        self._checked_at = float("-inf")
        self._stamp: tuple[tuple[int, int, int], ...] = ()
        self._keys: tuple[bytes, ...] = ()
        self._refresh(force=True)

    @property
    def keys(self) -> tuple[bytes, ...]:
        self._refresh()
        return self._keys

    def _refresh(self, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._checked_at < RECHECK_SECONDS:
            return
        self._checked_at = now
        stamp = tuple(self._identity(name) for name in KEY_FILES)
        if stamp == self._stamp and not force:
            return
        self._stamp = stamp
        keys = tuple(key for key in (self._read(name) for name in KEY_FILES) if key)
        if not keys:
            logger.warning(
                "No endpoint keys in %s (files missing or empty): protected requests are refused and readiness "
                "fails until the keys Secret is mounted",
                self.directory,
            )
        elif keys != self._keys:
            logger.info("Loaded %d endpoint key(s) from %s", len(keys), self.directory)
        self._keys = keys

    def _identity(self, name: str) -> tuple[int, int, int]:
        """What changes when a key file is rewritten or swapped: mtime, inode, size."""
        try:
            stat = os.stat(os.path.join(self.directory, name))
        except OSError:
            return (-1, -1, -1)
        return (stat.st_mtime_ns, stat.st_ino, stat.st_size)

    def _read(self, name: str) -> bytes:
        try:
            with open(os.path.join(self.directory, name), "rb") as handle:
                return handle.read().strip()
        except OSError:
            return b""

    @property
    def loaded(self) -> bool:
        """True when at least one key is loaded; readiness fails otherwise, so no traffic is routed here."""
        return bool(self.keys)

    def authorised(self, authorization: bytes | None) -> bool:
        """True when the Authorization header is `Bearer <key>` for one of the keys."""
        if not authorization or authorization[:7].lower() != BEARER:
            return False
        presented = authorization[7:].strip()
        # Compare against every key (no early exit) so timing does not tell which one matched.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(presented, key)
        return matched


def key_store_from(directory: str | None) -> KeyStore | None:
    """A KeyStore when a keys directory is configured, whether or not it exists yet; None (no auth) otherwise.

    A configured but absent directory still gives a KeyStore, which refuses everyone: a missing mount must
    not turn auth off.
    """
    if not directory:
        return None
    return KeyStore(directory)
