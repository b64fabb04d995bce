"""AG-UI (the Agent-User Interaction protocol): our chat log as AG-UI event streams."""
