"""Wire shapes shared by the domain (chats/) and the edges (ws/, api/): pure pydantic models."""
