# Front Desk: two commands a newcomer needs. Everything else is installed by `make setup`.
.PHONY: setup run test test-env seed-demo clean

PORT ?= 3000

setup:
	@bash scripts/setup.sh

run: setup
	@PORT=$(PORT) bash scripts/run.sh

test: setup test-env
	@bash scripts/test.sh $(PYTEST_ARGS)

test-env:
	@bash scripts/setup_test_env.sh

seed-demo: setup
	@.venv/bin/python -m backend seed-demo

clean:
	rm -rf .web .states .data test-artifacts
