# Tiandi — the two commands: `make run` and `make test`. Nothing else is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers; 2 cores here, `make test JOBS=auto` elsewhere.
JOBS ?= 2

.PHONY: run test stack bench lint format migrate seed check-deploy clean

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_periodic_tasks

seed: migrate
	$(BIN)/python manage.py seed_demo

## run: one ASGI server on http://127.0.0.1:8000 (pages, API, websockets), demo data seeded.
run: seed
	TIANDI_SERVER=1 $(BIN)/uvicorn retail.asgi:application --host $(HOST) --port $(PORT) --lifespan off

## test: the whole suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadfile

## stack: web + Celery worker + beat against PostgreSQL and Redis (DATABASE_URL, REDIS_URL).
stack: $(STAMP)
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" || { echo "set DATABASE_URL and REDIS_URL"; exit 2; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_periodic_tasks
	$(BIN)/honcho start -f Procfile

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

check-deploy: $(STAMP)
	DJANGO_DEBUG=0 DJANGO_SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
	  PII_ENCRYPTION_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet;print(Fernet.generate_key().decode())') \
	  PII_BLIND_INDEX_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(40))') \
	  DJANGO_ALLOWED_HOSTS=tiandi.example.com $(BIN)/python manage.py check --deploy --fail-level WARNING

BENCH ?=
## bench: every benchmark (or BENCH=name) against a real server on PostgreSQL (DATABASE_URL; default tiandi_bench).
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf var/tiandi.sqlite3* var/staticfiles
