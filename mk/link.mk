# The BLE link (docs/link.md): the emulated wearable and the companion as two processes
# meeting through Bumble's virtual controllers on loopback, for about 20 seconds.
.PHONY: link-demo
link-demo: firmware
	$(VENV)/bin/wearsense emulate --speed 10 --duration 20 & \
	  sleep 3; $(VENV)/bin/wearsense companion --db build/link-demo.db --duration 15; wait
