"""A chat's identity, shared by the layers that key things by chat (chats/ and storage/ both
import it; it imports nothing of the runtime)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatRef:
    """One chat of one app: the key of everything per chat (runs, the journal's queues, the
    hub's subscribers, a batch's seqs). Chat ids are unique within an app only."""

    app_id: str
    chat_id: str
