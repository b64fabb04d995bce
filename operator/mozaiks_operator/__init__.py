"""Mozaiks operator: reconciles Tenant and Workflow resources into per-tenant runtimes."""

__version__ = "0.1.0"
