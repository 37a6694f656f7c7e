"""Privacy: the owner's activity log, exporting and erasing a person's data, data retention, and deleting a whole
workspace with a grace period. (Keeping personal data from outside AI services is backend.providers.redaction.)"""
