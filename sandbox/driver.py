"""The test-driver API: fake users and groups that message the bot and read its answers."""

from __future__ import annotations

from sandbox.state import (
    GroupRecord,
    JSONDict,
    SentMessage,
    State,
    UserRecord,
    compact,
    photo_sizes,
    text_entities,
)

# A 1x1 transparent PNG, used as the default payload of photos sent by fake users.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


class SandboxTimeout(AssertionError, TimeoutError):
    """Raised by the driver API when an awaited bot reaction does not happen in time."""


class _Party:
    """Shared driver behaviour of users and group chats: consuming the bot's messages."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._cursors: dict[int, int] = {}

    def _default_chat_id(self) -> int:
        raise NotImplementedError

    def _chat_id(self, chat: SandboxChat | None) -> int:
        return chat.id if chat is not None else self._default_chat_id()

    def inbox(self, chat: SandboxChat | None = None) -> list[SentMessage]:
        """Return the bot's messages in the chat, in their current (edited) state."""
        chat_id = self._chat_id(chat)
        return [m for m in self._state.current.get(chat_id, {}).values() if not m.deleted]

    async def next_message(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
        *,
        chat: SandboxChat | None = None,
    ) -> SentMessage:
        """Wait for the next bot send or edit in the chat that this party has not consumed."""
        chat_id = self._chat_id(chat)
        events = self._state.chat_events.setdefault(chat_id, [])

        def unread() -> SentMessage | None:
            cursor = self._cursors.get(chat_id, 0)
            if cursor < len(events):
                self._cursors[chat_id] = cursor + 1
                return events[cursor]
            return None

        message = await self._state.wait_until(unread, timeout)
        if message is None:
            raise SandboxTimeout(self._timeout_report(chat_id, timeout))
        return message

    async def expect_no_message(
        self, within: float = 0.5, chat: SandboxChat | None = None
    ) -> None:
        """Assert that the bot sends or edits nothing new in the chat for ``within`` seconds."""
        chat_id = self._chat_id(chat)
        events = self._state.chat_events.setdefault(chat_id, [])
        cursor = self._cursors.get(chat_id, 0)
        event = await self._state.wait_until(
            lambda: events[cursor] if len(events) > cursor else None, within
        )
        if event is not None:
            raise AssertionError(f"expected no bot message in chat {chat_id}, got {event!r}")

    def skip_pending(self, chat: SandboxChat | None = None) -> None:
        """Mark every bot message already in the chat as consumed."""
        chat_id = self._chat_id(chat)
        self._cursors[chat_id] = len(self._state.chat_events.get(chat_id, []))

    def _timeout_report(self, chat_id: int, timeout: float) -> str:
        state = self._state
        recent = [m.content[:60] for m in state.chat_events.get(chat_id, [])[-3:]]
        calls = [name for name, _ in state.calls if name != "getupdates"][-8:]
        return (
            f"{self!r}: no new bot message in chat {chat_id} within {timeout}s. "
            f"Last messages in this chat: {recent}. Recent API calls: {calls}. "
            f"Recent API errors: {state.errors[-3:]}. "
            f"Pending (undelivered) updates: {len(state.updates)}."
        )


class SandboxUser(_Party):
    """A fake Telegram user who chats with the bot privately or in sandbox groups."""

    def __init__(self, state: State, record: UserRecord) -> None:
        super().__init__(state)
        self._record = record

    def __repr__(self) -> str:
        return f"SandboxUser(id={self.id}, first_name={self.first_name!r})"

    @property
    def id(self) -> int:
        """Return the Telegram user id."""
        return self._record.id

    @property
    def first_name(self) -> str:
        """Return the user's first name."""
        return self._record.first_name

    @property
    def last_name(self) -> str | None:
        """Return the user's last name, if any."""
        return self._record.last_name

    @property
    def username(self) -> str | None:
        """Return the user's @username (without the @), if any."""
        return self._record.username

    @property
    def language_code(self) -> str | None:
        """Return the language of the user's Telegram app."""
        return self._record.language_code

    @language_code.setter
    def language_code(self, value: str | None) -> None:
        """Switch the language of the user's Telegram app (sent with their next updates)."""
        self._record.language_code = value

    @property
    def chat_id(self) -> int:
        """Return the id of the private chat with the bot (equal to the user id)."""
        return self._record.id

    @property
    def blocked(self) -> bool:
        """Whether this user currently blocks the bot."""
        return self._record.blocked

    @property
    def started(self) -> bool:
        """Whether this user ever opened the private chat (pressed Start): the bot may write."""
        return self._record.started

    @property
    def callback_answers(self) -> list[JSONDict]:
        """Return the ``answerCallbackQuery`` answers to this user's presses, in order."""
        state = self._state
        return [
            answer
            for query_id, answer in state.callback_answers.items()
            if state.callback_queries.get(query_id) == self.id
        ]

    def _default_chat_id(self) -> int:
        return self.id

    def to_json(self) -> JSONDict:
        """Return the Bot API ``User`` object for this user."""
        return self._record.to_json()

    def private_chat_json(self) -> JSONDict:
        """Return the Bot API ``Chat`` object of the private chat with the bot."""
        return self._record.private_chat_json()

    async def send(
        self,
        text: str,
        *,
        chat: SandboxChat | None = None,
        reply_to: SentMessage | int | None = None,
    ) -> int:
        """Send a text message (with command and mention entities); return its id.

        In a group the bot sees it only if privacy mode lets it through (a command, a reply
        to the bot, a mention of the bot).
        """
        content: JSONDict = {"text": text}
        entities = text_entities(text)
        if entities:
            content["entities"] = entities
        reply_id = reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to
        return self._state.user_message(self.id, self._chat_id(chat), content, reply_id)

    async def share_contact(
        self,
        phone_number: str,
        *,
        chat: SandboxChat | None = None,
        of: SandboxUser | None = None,
    ) -> int:
        """Share a contact card: this user's (as a ``request_contact`` button does) or ``of``'s."""
        person = of if of is not None else self
        contact = compact(
            {
                "phone_number": phone_number,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "user_id": person.id,
            }
        )
        return self._state.user_message(self.id, self._chat_id(chat), {"contact": contact}, None)

    async def send_photo(
        self,
        caption: str | None = None,
        chat: SandboxChat | None = None,
        *,
        data: bytes = TINY_PNG,
    ) -> int:
        """Send a photo (a tiny PNG unless ``data`` is given); return the message id."""
        stored = self._state.store_file(data, "photos", "jpg")
        entities = text_entities(caption) if caption else None
        content = compact(
            {
                "photo": photo_sizes(stored),
                "caption": caption,
                "caption_entities": entities or None,
            }
        )
        return self._state.user_message(self.id, self._chat_id(chat), content, None)

    async def edit(self, message_id: int, text: str, *, chat: SandboxChat | None = None) -> None:
        """Edit one of this user's earlier text messages (an ``edited_message`` update)."""
        self._state.user_edit(self.id, self._chat_id(chat), message_id, text)

    async def press(self, message: SentMessage, button: str) -> str:
        """Press an inline button (by text or callback data); return the callback query id.

        On a reply keyboard the button's text is sent as a message instead, and the new
        message id is returned as a string.
        """
        current = self._state.current_message(message.chat_id, message.message_id)
        markup = current.reply_markup or {}
        if markup.get("keyboard"):
            return await self._press_reply_button(current, button)
        found = find_button(markup.get("inline_keyboard") or [], button)
        if found is None:
            raise AssertionError(
                f"no button matching {button!r} in message {current.message_id} "
                f"({current.content[:60]!r}); available: {current.buttons()}"
            )
        if found.get("callback_data") is None:
            raise AssertionError(f"button {found.get('text')!r} has no callback_data: {found}")
        return self._state.callback_query(self.id, current, str(found["callback_data"]))

    async def press_data(self, message: SentMessage, data: str) -> str:
        """Send a callback query with any data from `message`, as a modified client can (forged
        numbers, another user's button, a second tap); return the callback query id."""
        current = self._state.current_message(message.chat_id, message.message_id)
        return self._state.callback_query(self.id, current, data)

    async def _press_reply_button(self, message: SentMessage, button: str) -> str:
        rows = [
            [{"text": text, "request_contact": contact} for text, contact in row]
            for row in message.reply_button_rows()
        ]
        found = find_button(rows, button)
        if found is None:
            raise AssertionError(
                f"no reply button matching {button!r}; available: {message.reply_buttons()}"
            )
        if found["request_contact"]:
            raise AssertionError(f"button {found['text']!r} requests a contact: use share_contact")
        text = str(found["text"])
        content = {"text": text, "entities": text_entities(text) or None}
        return str(self._state.user_message(self.id, message.chat_id, compact(content), None))

    async def wait_callback_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the bot, part of the driver API
    ) -> JSONDict:
        """Wait until the bot answers the callback query; return the recorded answer."""
        answer = await self._state.wait_until(
            lambda: self._state.callback_answers.get(query_id), timeout
        )
        if answer is None:
            raise SandboxTimeout(f"callback query {query_id} not answered within {timeout}s")
        return answer


class SandboxChat(_Party):
    """A fake group (``supergroup``) chat shared by the bot and some sandbox users."""

    def __init__(self, state: State, record: GroupRecord) -> None:
        super().__init__(state)
        self._record = record

    def __repr__(self) -> str:
        return f"SandboxChat(id={self.id}, title={self.title!r})"

    @property
    def id(self) -> int:
        """Return the (negative) chat id."""
        return self._record.id

    @property
    def title(self) -> str:
        """Return the group's title."""
        return self._record.title

    @property
    def type(self) -> str:
        """Return the chat type (``supergroup``)."""
        return self._record.type

    def _default_chat_id(self) -> int:
        return self.id

    def to_json(self) -> JSONDict:
        """Return the Bot API ``Chat`` object of this group."""
        return self._record.to_json()

    def add_member(self, user: SandboxUser) -> None:
        """Add a user to the group's member list."""
        if user.id not in self._record.members:
            self._record.members.append(user.id)


def find_button(rows: list[list[JSONDict]], wanted: str) -> JSONDict | None:
    """Find a button by exact text/data, else by unique case-insensitive substring."""
    buttons = [button for row in rows for button in row if isinstance(button, dict)]
    for key in ("text", "callback_data"):
        for button in buttons:
            if button.get(key) == wanted:
                return button
    needle = wanted.lower()
    matches = [
        b
        for b in buttons
        if needle in str(b.get("text", "")).lower() or needle in str(b.get("callback_data") or "")
    ]
    if len(matches) > 1:
        labels = ", ".join(repr(b.get("text")) for b in matches)
        raise AssertionError(f"button {wanted!r} is ambiguous: matches {labels}")
    return matches[0] if matches else None
