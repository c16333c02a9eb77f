"""Model updates: the signed model package format (``package``), signing keys (``keys``)
and the ``wearsense package`` / ``wearsense keys`` commands (``cli``). The device's side
of the format is firmware/src/updates/pkg.c; docs/model-package.md describes both."""
