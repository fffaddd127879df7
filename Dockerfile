# syntax=docker/dockerfile:1
# Multi-stage: dependencies are built in `builder`; the runtime image carries only the venv and
# the code and runs as a non-root user. One target per process, each with its command (the
# README's "Running the real processes" table; docker-compose.yml builds every one):
#   docker build -t sms-blossom .                                          # web (the last stage)
#   docker build --target campaigns-worker -t sms-blossom-campaigns-worker .
#   docker build --target default-worker -t sms-blossom-default-worker .
#   docker build --target scheduler -t sms-blossom-scheduler .
#   docker build --target migrate -t sms-blossom-migrate .                 # once per release

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

FROM runtime AS migrate
# Runs as DATABASE_ADMIN_URL's owner role, then grants the application role its table rights.
CMD ["flask", "--app", "shopify_app", "db", "upgrade"]

FROM runtime AS scheduler
# Periodic jobs; any number may run, a Redis lease elects one leader.
CMD ["flask", "--app", "shopify_app", "scheduler"]

# Workers serve no HTTP; RQ's scheduler is on (the command's default) so delayed jobs and
# retries fire. Both use the threaded class (PostgreSQL only, which production requires): its
# jobs wait on PostgreSQL, Shopify and Mitto, and a thread runs another job meanwhile, where the
# forking class runs one job at a time and forks and reconnects to the database for each (a 10k
# campaign: 2.8k msgs/s forking, 11.9-13.1k threaded).
FROM runtime AS default-worker
# Every queue but campaigns (RQ takes from the first non-empty one, in this order). Campaign
# batches have their own worker, so a large campaign never delays a STOP reply or a webhook.
CMD ["flask", "--app", "shopify_app", "worker", "-q", "default", "-q", "webhooks", "-q", "automations", "-q", "housekeeping", "--worker-class", "threaded", "--threads", "3"]

FROM runtime AS campaigns-worker
CMD ["flask", "--app", "shopify_app", "worker", "-q", "campaigns", "--worker-class", "threaded", "--threads", "3"]

# The last stage is the default target: the web server.
FROM runtime AS web
EXPOSE 8000
# Asks the port gunicorn binds ($PORT, default 8000: gunicorn.conf.py), straight to loopback
# (no HTTP proxy from the environment).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request as u; url = 'http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'); sys.exit(0 if u.build_opener(u.ProxyHandler({})).open(url, timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
