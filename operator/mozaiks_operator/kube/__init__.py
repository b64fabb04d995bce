"""The only package of the operator that talks to the Kubernetes API (besides kopf itself)."""
