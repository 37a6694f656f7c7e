# Front Desk: two commands a newcomer needs. Everything else is installed by `make setup`.
.PHONY: setup setup-dev run test test-env seed-demo clean

PORT ?= 3000

# What the app needs; `setup-dev` adds the test and benchmark tools.
setup:
	@bash scripts/setup.sh app

setup-dev:
	@bash scripts/setup.sh dev

run: setup
	@PORT=$(PORT) bash scripts/run.sh

test: setup-dev test-env
	@bash scripts/test.sh $(PYTEST_ARGS)

test-env:
	@bash scripts/setup_test_env.sh

seed-demo: setup
	@.venv/bin/python -m backend seed-demo

clean:
	rm -rf .web .states .data test-artifacts
