"""The REST API (/api/v1/): thin views over registry.services and registry.selectors."""
