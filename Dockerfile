# Shuangyou in a container: `python -m bot run` (long polling by default), the SQLite database on the /data volume
# unless DATABASE_URL names a PostgreSQL server.
#
#   docker build -t shuangyou .
#   docker run -d --name shuangyou --restart unless-stopped -e BOT_TOKEN=123456789:AAE... \
#       -v shuangyou-data:/data shuangyou
#
# The web pages (the public's review pages; in webhook mode Telegram's updates too) on port 8080: publish it to the
# reverse proxy with -p 127.0.0.1:8080:8080. As a webhook (several instances on one PostgreSQL):
#   docker run -d -e BOT_TOKEN=... -e DATABASE_URL=postgresql+asyncpg://... -p 127.0.0.1:8080:8080 shuangyou \
#       run --webhook https://bot.example.org/telegram
#
# The bot runs as uid 10001 in /data: backups, exports and invitation lists without --out land on the volume.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/shuangyou.db \
    SHUANGYOU_CONFIG=/app/config.toml \
    SHUANGYOU_WEB__LISTEN=0.0.0.0 \
    MPLCONFIGDIR=/tmp/matplotlib

# A Chinese font for the leaderboard charts and the printed review QR codes (without one the boards are posted as
# text only, and the QR codes without their names drawn).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home shuangyou \
    && mkdir -p /data && chown shuangyou:shuangyou /data

# Installed as a package (migrations, script.py.mako and the .po catalogues are package data) at the tested versions
# (constraints.txt, written by scripts/lock); the sources go.
COPY pyproject.toml README.md constraints.txt /tmp/src/
COPY bot /tmp/src/bot
COPY handlers /tmp/src/handlers
COPY jobs /tmp/src/jobs
COPY storage /tmp/src/storage
COPY web /tmp/src/web
RUN pip install -c /tmp/src/constraints.txt /tmp/src && rm -rf /tmp/src
COPY config.toml /app/config.toml

USER shuangyou
WORKDIR /data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
