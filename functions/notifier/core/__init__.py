"""What both functions share: job and notice models, time formats, settings, errors, observability, table layout."""
