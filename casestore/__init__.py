"""Case store (app env): tickets (工单), their events, attachments, notifications, the API."""
