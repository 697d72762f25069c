# `make soak` (not in CI): SOAK_SECONDS (default 600) of mixed load through ringlbd with
# reloads, ringlbctl changes and backend kills; prints fds, RSS and errors and writes
# build/soak/report.json. Fails on any client error, an fd leak or a dead daemon.
.PHONY: soak

soak:
	tests/install-deps.sh build test
	$(MAKE) -j$$(nproc) all
	$(if $(SOAK_SECONDS),SOAK_SECONDS=$(SOAK_SECONDS)) /usr/bin/python3 tests/soak/soak.py
