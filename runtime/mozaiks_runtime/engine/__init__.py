"""The only package that imports ag2: builds and runs workflows."""
