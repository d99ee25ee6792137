"""The rating form's state, carried signed in the callback data of its own buttons.

Every button of the form holds the whole form: the target, the period (its id and dates), when the form was
opened (and a random number naming this form), the scores given so far, the stage, the id of a typed comment, the
rater's language, and what the button does. The data is signed for the rater (bot/signing.py), so a press needs no
database: it is read, checked and answered, and the message is edited with the next state's buttons. A restart
loses nothing, since the state is in the message. Only Confirm goes to the database, and checks everything again
there (handlers/ratings.py).

The layout is fixed-size, so every form's data has the same length: `rf:` and 30 bytes of state and 14 of signature
in unpadded base64url, 62 bytes of Telegram's 64 (`tests/test_ratings.py` builds the largest state and checks).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.i18n import CHINESE, ENGLISH, N_
from bot.signing import MAC_BYTES, Signer
from handlers.common import Refusal
from storage.models import TargetKind

PREFIX = "rf:"
PATTERN = re.compile(f"^{PREFIX}")
MAX_STANDARDS = 10  # scores are packed in 3 bits each into 32
_LAYOUT = struct.Struct(">BIIHHIIIIB")  # flags, target, period, starts, ends, opened, nonce, scores, comment, action
_VERSION = 1
_EPOCH = dt.date(2000, 1, 1)
N_EXPIRED = N_("This button has expired. Send /rate again.")
N_NOT_YOURS = N_("This rating form is not yours. Send /rate to start your own.")


class Stage(enum.IntEnum):
    SCORES = 0  # a score for each standard
    COMMENT = 1  # write a comment, keep the one written, or none
    CONFIRM = 2  # nothing counts until Confirm


class Step(enum.IntEnum):
    """What a press does besides scoring (a score press is `index * 5 + score - 1`, below FIRST_STEP)."""

    NO_COMMENT = 50
    KEEP = 51
    BACK = 52
    CANCEL = 53
    CONFIRM = 54
    WRITE = 55
    SHOW = 56  # the form as it is (‹ Back from writing a comment)


FIRST_STEP = min(Step)


@dataclass(frozen=True)
class FormState:
    kind: TargetKind
    target_id: int
    period_id: int
    period_starts: dt.date
    period_ends: dt.date
    opened_at: int  # seconds since 1970, UTC
    nonce: int  # random, below 2**31: the rating remembers it, so that a repeated Confirm changes nothing
    scores: tuple[int, ...]  # one per standard, in the config's order; 0 = not given yet
    stage: Stage = Stage.SCORES
    comment_id: int = 0  # a FormComment row, 0 = none
    language: str = ENGLISH

    @property
    def complete(self) -> bool:
        return all(self.scores)

    def scored(self, index: int, score: int) -> FormState:
        scores = list(self.scores)
        scores[index] = score
        stage = Stage.COMMENT if all(scores) else Stage.SCORES
        return replace(self, scores=tuple(scores), stage=stage)


@dataclass(frozen=True)
class FormPress:
    state: FormState
    action: int  # a score (`score_action`) or a Step

    @property
    def score(self) -> tuple[int, int] | None:
        """(standard index, score) for a score press."""
        if self.action >= FIRST_STEP:
            return None
        return divmod(self.action, 5)[0], self.action % 5 + 1


def score_action(index: int, score: int) -> int:
    return index * 5 + score - 1


def pack(signer: Signer, user_id: int, state: FormState, action: int) -> str:
    """The callback data of the button that does `action` to `state`, signed for `user_id`."""
    return packer(signer, user_id, state)(action)


def packer(signer: Signer, user_id: int, state: FormState) -> Callable[[int], str]:
    """`pack` for the buttons of one form: the state is laid out once, each button adds its action and signature."""
    if len(state.scores) > MAX_STANDARDS:
        raise ValueError(f"a form has at most {MAX_STANDARDS} standards")
    packed_scores = 0
    for index, score in enumerate(state.scores):
        packed_scores |= (score & 0b111) << (3 * index)
    flags = (
        int(state.stage)
        | (int(state.kind == TargetKind.MEMBER) << 2)
        | (int(state.language == CHINESE) << 3)
        | (_VERSION << 4)
    )
    laid_out = _LAYOUT.pack(
        flags,
        state.target_id,
        state.period_id,
        (state.period_starts - _EPOCH).days,
        (state.period_ends - _EPOCH).days,
        state.opened_at,
        state.nonce,
        packed_scores,
        state.comment_id,
        0,
    )[:-1]

    def pack_action(action: int) -> str:
        signed = signer.sign(user_id, laid_out + action.to_bytes(1, "big"))
        return PREFIX + base64.urlsafe_b64encode(signed).decode().rstrip("=")

    return pack_action


def read(signer: Signer, user_id: int, data: str | None, standards: int) -> FormPress:
    """The press behind `data`, if this bot made it for `user_id`; else a Refusal: "expired" for data of another
    shape (an old version of the bot, garbage), "not yours" for a signature that does not hold."""
    if not data or not data.startswith(PREFIX):
        raise Refusal(N_EXPIRED)
    encoded = data.removeprefix(PREFIX)
    try:
        signed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        raise Refusal(N_EXPIRED) from None
    if len(signed) != _LAYOUT.size + MAC_BYTES:
        raise Refusal(N_EXPIRED)
    payload = signer.verify(user_id, signed)
    if payload is None:
        raise Refusal(N_NOT_YOURS)
    flags, target_id, period_id, starts, ends, opened_at, nonce, packed_scores, comment_id, action = _LAYOUT.unpack(
        payload
    )
    if flags >> 4 != _VERSION or flags & 0b11 > max(Stage) or action > max(Step) or not 0 < standards <= 10:
        raise Refusal(N_EXPIRED)
    scores = tuple((packed_scores >> (3 * index)) & 0b111 for index in range(standards))
    state = FormState(
        kind=TargetKind.MEMBER if flags & 0b100 else TargetKind.SECTION,
        target_id=target_id,
        period_id=period_id,
        period_starts=_EPOCH + dt.timedelta(days=starts),
        period_ends=_EPOCH + dt.timedelta(days=ends),
        opened_at=opened_at,
        nonce=nonce,
        scores=scores,
        stage=Stage(flags & 0b11),
        comment_id=comment_id,
        language=CHINESE if flags & 0b1000 else ENGLISH,
    )
    return FormPress(state, action)
