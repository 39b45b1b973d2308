# The platform's image: the project's locked environment and its code, nothing else.
# The team stack (infra/compose.yaml) runs MLflow, Prefect (server and worker) and the
# BentoML service from it, so every server runs the versions the tests ran.
FROM python:3.11-slim
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH MLOPS_STATE_DIR=/state
RUN pip install --no-cache-dir 'uv>=0.9' \
    && useradd --uid 1034 --create-home mlops && mkdir /state && chown mlops /state
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY --chown=mlops . .
USER mlops
