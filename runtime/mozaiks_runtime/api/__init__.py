"""The HTTP edge: dependencies, schemas and routes."""
