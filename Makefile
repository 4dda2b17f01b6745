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
# A repository installed as its package: $(1) the virtualenv, $(2) its folder, $(3) the pins.
define PACKAGE_VENV
$(CORPUS)/$(1)/.installed: $(3) $$(shell find $(2) -type f -not -name '*.pyc')
	rm -rf $(CORPUS)/$(1)
	$(PYTHON) -m venv $(CORPUS)/$(1)
	$(CORPUS)/$(1)/bin/python -m pip install --quiet --upgrade "pip>=24"
	cp -r $(2) $(CORPUS)/$(1)/src
	$(CORPUS)/$(1)/bin/python -m pip install --quiet -c $(3) $(CORPUS)/$(1)/src
	touch $$@
endef
$(eval $(call PACKAGE_VENV,abalone-sdk2,tests/corpus/aws-abalone-seedcode,tests/corpus/sdk2.constraints.txt))
$(eval $(call PACKAGE_VENV,cdk-seedcode,tests/corpus/aws-cdk-github-actions-seedcode,tests/corpus/sdk2-notebooks.constraints.txt))
PACKAGE_VENVS := $(CORPUS)/abalone-sdk2/.installed $(CORPUS)/cdk-seedcode/.installed

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
test: $(STAMP) $(PACKAGE_VENVS) $(NOTEBOOK_VENVS)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup --no-loadscope-reorder

test-busy: $(STAMP)
	$(BIN)/python -m pytest -m busy

bench: $(STAMP)
	$(BIN)/python bench/all.py

clean:
	rm -rf .mlops build *.egg-info .pytest_cache

distclean: clean
	rm -rf $(VENV) $(CORPUS)
