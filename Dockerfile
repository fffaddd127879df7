# syntax=docker/dockerfile:1
# Multi-stage: dependencies are built in `builder`; the runtime image carries only the venv and
# the code, runs as a non-root user, and serves wsgi:app with gunicorn.
#   docker build -t sms-blossom .                          # web (default: the last stage)
#   docker build --target worker -t sms-blossom-worker .   # RQ worker
#   docker run sms-blossom flask --app shopify_app scheduler  # the one periodic scheduler

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY requirements.txt /tmp/requirements.txt
RUN pip install --upgrade pip && pip install -r /tmp/requirements.txt

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:$PATH" \
    APP_ENV=production \
    PORT=8000
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY shopify_app ./shopify_app
COPY jobs ./jobs
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py shopify.app.toml ./
USER app

FROM runtime AS worker
# Workers serve no HTTP; RQ's scheduler is on so delayed jobs and retries fire.
CMD ["flask", "--app", "shopify_app", "worker", "--with-scheduler"]

# The last stage is the default target: the web server.
FROM runtime AS web
EXPOSE 8000
# Asks the port gunicorn binds ($PORT, default 8000: gunicorn.conf.py), straight to loopback
# (no HTTP proxy from the environment).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request as u; url = 'http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'); sys.exit(0 if u.build_opener(u.ProxyHandler({})).open(url, timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
