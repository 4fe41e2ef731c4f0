# seonbyeol (선별) — production image. Secrets come from the environment:
#   SEONBYEOL_ENV=production SEONBYEOL_SECRET_KEY=... SEONBYEOL_DATA_KEY=... DATABASE_URL=postgresql://...
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 SEONBYEOL_ENV=production
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev tzdata \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY rules ./rules
COPY policies ./policies
COPY admin_ui ./admin_ui
# Editable install: the service reads policies/ from the project directory.
RUN pip install -e . && apt-get purge -y gcc libc6-dev && apt-get autoremove -y

RUN useradd --system --home /app seonbyeol && mkdir -p /app/instance && chown seonbyeol /app/instance
USER seonbyeol
EXPOSE 8000
# Migrate, then serve; the demo is never loaded in production.
CMD ["sh", "-c", "seonbyeol init-db && seonbyeol serve --bind 0.0.0.0:8000 --workers ${WORKERS:-4}"]
