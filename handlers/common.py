"""What every feature needs: who is asking, and refusals that become polite replies."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update, User

from bot.access import Audience, CommandSpec, audience_of
from bot.context import BotContext
from bot.i18n import N_, Translator
from storage import members
from storage.models import Member, Role


class Refusal(Exception):
    """An expected "no" for the user: the error handler replies with the text and nothing is committed."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def render(self, tr: Translator) -> str:
        return tr.gettext(self.msgid, **self.params)


@dataclass(frozen=True)
class Viewer:
    """The user behind an update, as the database and the config know them."""

    user: User
    member: Member | None
    audience: Audience


async def load_viewer(*, session: AsyncSession, context: BotContext, user: User) -> Viewer:
    """Reads the member (if any), switches to their language, and works out their audience."""
    member = await members.get_member_by_telegram_id(session=session, telegram_id=user.id)
    if member is not None:
        context.use_language(member.language)
    return Viewer(user, member, audience_of(member, user.id, context.settings.bot.admins))


def require(viewer: Viewer, spec: CommandSpec, chat_type: str) -> None:
    """Refuses a command to a user or in a chat the command is not for."""
    if viewer.audience not in spec.audiences:
        raise Refusal(N_("You can't use /{command}. Send /help to see the commands you can use."), command=spec.name)
    if chat_type not in spec.chats:
        raise Refusal(
            N_("/{command} works only in a private chat with me.")
            if chat_type != "private"
            else N_("/{command} works only in the campaign group."),
            command=spec.name,
        )


def sender(update: Update) -> User:
    """The user behind an update the handlers accept (they all have one)."""
    user = update.effective_user
    if user is None:
        raise RuntimeError("this handler only accepts updates from users")
    return user


ROLE_NAMES = {
    Role.STAFF: N_("staff member"),
    Role.HEAD: N_("section head"),
    Role.LEADER: N_("leader"),
    Role.ADMIN: N_("administrator"),
    Role.INDUSTRY: N_("industry rater"),
}
