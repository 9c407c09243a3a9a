# The task image built for real with podman on this machine: nothing is pulled, the Dockerfile's base
# (python:3.11.14-slim-bookworm) is made by debootstrap when missing. Needs root and the Debian packages
# podman, runc and debootstrap, and network access to a Debian mirror and PyPI.
# Included from the top-level Makefile (which defines BIN and venv).
.PHONY: images-local

images-local: venv ## build the task image with podman, never pulling (base made by debootstrap)
	$(BIN)/python -m airkube_dev.images
