"""Connectors: poll a helpdesk's API and hand its ticket events, mapped, to a publisher."""
