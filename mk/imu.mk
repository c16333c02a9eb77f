# IMU: subject splits, shared test vectors and the trigger benchmark
# (docs/imu-front-end.md).
.PHONY: imu-splits imu-vectors bench-imu

# The C vector test reads the IMU vectors as a generated header.
GEN_HEADERS += build/gen/ws_imu_vectors.h
build/gen/ws_imu_vectors.h: tests/vectors/imu.json tools/gen_imu_vectors_header.py
	$(PYTHON) tools/gen_imu_vectors_header.py $@

imu-splits: $(STAMP)
	$(PY) tools/make_imu_splits.py

imu-vectors: $(STAMP) firmware
	$(PY) tools/make_imu_vectors.py

bench-imu: $(STAMP) firmware
	$(PY) -m benchmarks imu
