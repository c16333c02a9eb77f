# IMU: subject splits and the trigger benchmark (docs/imu-front-end.md).
.PHONY: imu-splits bench-imu

imu-splits: $(STAMP)
	$(PY) tools/make_imu_splits.py

bench-imu: $(STAMP) firmware
	$(PY) -m benchmarks imu
