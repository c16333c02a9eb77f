# The companion's store and clinical export (docs/store.md, docs/clinical-export.md).
.PHONY: test-store bench-store

test-store: $(STAMP)
	$(PY) -m pytest -q tests/test_store.py tests/test_store_derived.py tests/test_store_cli.py tests/test_export.py

bench-store: $(STAMP)
	$(PY) -m benchmarks store
