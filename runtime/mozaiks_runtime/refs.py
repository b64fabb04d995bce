"""A chat's identity, shared by the layers that key things by chat (chats/ and storage/ both
import it; it imports nothing of the runtime)."""

from __future__ import annotations

from typing import NamedTuple


class ChatRef(NamedTuple):
    """One chat of one app: the key of everything per chat (runs, the journal's queues, the
    hub's subscribers, a batch's seqs). Chat ids are unique within an app only.

    A NamedTuple rather than a frozen dataclass: it is a dict key on the event path (journal,
    hub), and a tuple hashes in C: 20 ns a lookup here, against 96 ns for the dataclass."""

    app_id: str
    chat_id: str
