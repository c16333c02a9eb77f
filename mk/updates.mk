# Model packages and their crypto (issue 11): generated headers and the M4 measurement.
GEN_HEADERS += build/gen/ws_crypto_vectors.h
build/gen/ws_crypto_vectors.h: tests/vectors/ed25519.json tests/vectors/sha2.json \
    tools/gen_crypto_vectors_header.py
	$(PYTHON) tools/gen_crypto_vectors_header.py $@
