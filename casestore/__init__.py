"""Case store: tickets (工单), their audit events, and the HTTP API over them."""
