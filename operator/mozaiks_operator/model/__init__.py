"""Typed views of the Tenant and Workflow resources, parsed once with defaults applied."""
