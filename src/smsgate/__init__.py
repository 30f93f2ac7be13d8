"""smsgate: queue SMS, send them through any HTTP SMS gateway, retry until they expire, keep the history."""
