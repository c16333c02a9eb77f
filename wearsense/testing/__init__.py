"""Harnesses beside the library: fault injection, in-process loopback links, power-cut
drivers, cross-checks, adversarial packages, store simulation, test models and the layer
check. Tests, benchmarks, tools and the measurement commands of the faces import them;
the library (every other package of ``wearsense``) never does (docs/architecture.md)."""
