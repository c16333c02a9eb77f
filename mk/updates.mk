# Model packages and their crypto (issue 11): generated headers and the M4 measurement.
GEN_HEADERS += build/gen/ws_crypto_vectors.h
build/gen/ws_crypto_vectors.h: tests/vectors/ed25519.json tests/vectors/sha2.json \
    tools/gen_crypto_vectors_header.py
	$(PYTHON) tools/gen_crypto_vectors_header.py $@

# DEV-signed packages for firmware/tests/test_pkg.c (needs the venv and the host build:
# the real-model package is built with the C interpreter).
GEN_HEADERS += build/gen/ws_pkg_vectors.h
build/gen/ws_pkg_vectors.h: $(STAMP) build/host/.stamp tools/gen_pkg_vectors_header.py wearsense/updates/package.py wearsense/protocol/package.py \
    wearsense/testing/adversarial.py wearsense/updates/dev_keys/wearsense-DEV-emulator-only.ed25519.pem \
    wearsense/tflite/writer.py wearsense/tflite/builder.py
	$(PY) tools/gen_pkg_vectors_header.py $@
