"""ECG strips: short stretches of the ECG front end's input samples the device keeps
around what it detected and sends only on request (issue #31, docs/protocol.md)."""
