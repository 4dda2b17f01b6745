# Two commands: `make demo` and `make test`. Each sets up .venv when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-busy bench clean distclean

$(STAMP): setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mlops demo

# Other people's pipelines, each installed unchanged in a virtualenv of its own with its own
# SDK (tests/corpus/; tests/test_corpus.py runs them against the twin).
CORPUS := .venv-corpus
SEED := tests/corpus/aws-abalone-seedcode
$(CORPUS)/abalone-sdk2/.installed: tests/corpus/sdk2.constraints.txt $(shell find $(SEED) -type f -not -name '*.pyc')
	rm -rf $(CORPUS)/abalone-sdk2
	$(PYTHON) -m venv $(CORPUS)/abalone-sdk2
	$(CORPUS)/abalone-sdk2/bin/python -m pip install --quiet --upgrade "pip>=24"
	cp -r $(SEED) $(CORPUS)/abalone-sdk2/src
	$(CORPUS)/abalone-sdk2/bin/python -m pip install --quiet -c tests/corpus/sdk2.constraints.txt $(CORPUS)/abalone-sdk2/src
	touch $@

# An SDK and a notebook runner, for the example notebooks (run unchanged by jupyter-execute):
# .venv-corpus/sdk3 (the SDK v3), .venv-corpus/sdk2-notebooks (the last SDK v2).
NOTEBOOK_VENVS := $(CORPUS)/sdk3/.installed $(CORPUS)/sdk2-notebooks/.installed
$(CORPUS)/%/.installed: tests/corpus/%.constraints.txt
	rm -rf $(CORPUS)/$*
	$(PYTHON) -m venv $(CORPUS)/$*
	$(CORPUS)/$*/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(CORPUS)/$*/bin/python -m pip install --quiet -c $< sagemaker nbclient ipykernel
	touch $@

# Both cores (pytest-xdist); tests that share state are one xdist_group each. The busy tier
# (the demo again beside CPU-bound load) is .ci/run's: make test-busy.
test: $(STAMP) $(CORPUS)/abalone-sdk2/.installed $(NOTEBOOK_VENVS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-busy: $(STAMP)
	$(BIN)/python -m pytest -m busy

bench: $(STAMP)
	$(BIN)/python bench/definition.py
	$(BIN)/python bench/local_pipeline.py
	$(BIN)/python bench/monitor.py
	$(BIN)/python bench/model_quality.py
	$(BIN)/python bench/explain.py
	$(BIN)/python bench/endpoint.py
	$(BIN)/python bench/auth.py

clean:
	rm -rf .mlops build *.egg-info .pytest_cache

distclean: clean
	rm -rf $(VENV) $(CORPUS)
