"""One screen per job: devices, live events, charts, model updates, export, help, and
the fall alert that must be acknowledged."""
