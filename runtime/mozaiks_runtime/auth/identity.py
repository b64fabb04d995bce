"""Who is calling, as proven by a verified token, and what they may touch. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str  # the token's `sub`
    app_id: str  # the token's `app_id` (or `mozaiks_app_id`) claim
    chat_id: str | None = None  # a token bound to one chat
    scopes: frozenset[str] = field(default_factory=frozenset)
    admin_scope: str = "mozaiks:admin"
    expires_at: datetime | None = None  # the token's `exp`; None under explicit dev auth
    # The verified token's claims, for entitlement rules (auth/entitlements.py).
    claims: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    dev: bool = False  # explicit dev auth: nobody is checked, so no rule applies either

    @property
    def is_admin(self) -> bool:
        return self.admin_scope in self.scopes

    def may_use_chat(self, chat_id: str) -> bool:
        """A chat-bound token works for its own chat only."""
        return self.chat_id is None or self.chat_id == chat_id

    def owns(self, *, app_id: str, user_id: str, chat_id: str) -> bool:
        """True when this identity may read and act on the chat (owner, right tenant, binding)."""
        return self.app_id == app_id and self.user_id == user_id and self.may_use_chat(chat_id)

    def may_read_app(self, app_id: str) -> bool:
        """App-wide reads (all users' sessions, usage) need the admin scope."""
        return self.app_id == app_id and self.is_admin
