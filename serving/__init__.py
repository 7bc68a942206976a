"""The FastAPI service: CRM enrichment, at-risk lists and on-demand scoring."""
