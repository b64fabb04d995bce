"""Chat persistence behind one Store protocol (SQLite and MongoDB)."""
