"""Signatures for state that travels in buttons: an HMAC-SHA256 over the presser's Telegram id and the state,
truncated to MAC_BYTES (112 bits). A signed button proves that this bot made it for this user; nobody can forge
another state, or press a button made for someone else. The key lives in the database (`storage.keys`), so that
every instance agrees; it is never logged or shown."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MAC_BYTES = 14  # 112 bits
MIN_KEY_BYTES = 32


class Signer:
    def __init__(self, key: bytes, purpose: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError("a signing key has at least 32 bytes")
        self._key = key
        self._purpose = purpose  # a signature for one kind of state is worth nothing for another

    def __repr__(self) -> str:
        return f"Signer({self._purpose.decode(errors='replace')!r}, key hidden)"

    def sign(self, user_id: int, payload: bytes) -> bytes:
        """The payload followed by its signature for `user_id`."""
        return payload + self._mac(user_id, payload)

    def verify(self, user_id: int, signed: bytes) -> bytes | None:
        """The payload, if `signed` was made by `sign` for `user_id`; else None."""
        if len(signed) <= MAC_BYTES:
            return None
        payload, mac = signed[:-MAC_BYTES], signed[-MAC_BYTES:]
        return payload if hmac.compare_digest(mac, self._mac(user_id, payload)) else None

    def _mac(self, user_id: int, payload: bytes) -> bytes:
        message = self._purpose + b"\0" + user_id.to_bytes(8, "big", signed=True) + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:MAC_BYTES]


@dataclass
class Keys:
    """The signers of this process, made from the keys in the database when the bot starts."""

    rating_form: Signer | None = None
    web: bytes = b""  # web/guards.py makes its signers from it, one per purpose
