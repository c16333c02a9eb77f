"""Model updates: signed model packages (``package``: sign, verify, the C interpreter's view
of a model; the layout itself is ``wearsense.protocol.package``), signing keys (``keys``),
the registry, the rollout guard and the transfer. The commands are ``wearsense.cli.package``
and ``wearsense.cli.keys``. The device's side of the format is
firmware/src/updates/pkg.c; docs/model-package.md describes both."""
