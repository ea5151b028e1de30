"""Pure mappings from helpdesk exports, webhooks and event logs to contract events."""
