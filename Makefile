# Every target creates .venv when needed and installs what it needs into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint samples bench bench-quality bench-text bench-image bench-gate clean chromium

$(STAMP): pyproject.toml setup.py lime_cli/image/_kernel.c lime_cli/image/_segment.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lime explain --model sample_models/breast_cancer_rf.joblib \
		--data sample_data/breast_cancer.csv --target target --row 0 --row 1 --num-features 6
	@mkdir -p out
	$(BIN)/lime explain --model sample_models/reviews_tfidf_lr.joblib --rows sample_data/reviews.jsonl \
		--text review --num-features 6 --format html --output out/demo-report.html --quiet
	@echo "The HTML report of 400 reviews: out/demo-report.html"
	$(BIN)/lime explain --model sample_models/digits_mlp.onnx --images sample_data/digits --num-features 5 \
		--format html --output out/demo-digits.html --quiet
	@echo "The HTML report of 12 digits, their strongest regions outlined: out/demo-digits.html"

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

# the browser tests open reports in Debian's Chromium (installed when missing; CI runs as root)
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

lint: $(STAMP)
	$(BIN)/ruff check .

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-quality: $(STAMP)
	$(BIN)/python bench/quality.py

bench-text: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/text.py

bench-image: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,image]'
	$(BIN)/python bench/image.py

bench-gate: $(STAMP)
	$(BIN)/python bench/gate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
