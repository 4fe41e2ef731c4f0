# seonbyeol (선별) — production image (docs/adopting.md; compose.yaml runs it with PostgreSQL 15).
#
# Two stages: "build" compiles wheels (durable-rules has C code) and installs them into a virtual
# environment; the final image copies only that environment, so it holds no compiler and no
# source tree. Policies (policies/*.yaml) and migrations ship inside the installed package.
# Configuration comes only from the environment (README, "Configuration"):
#   docker run -e DATABASE_URL=postgresql://... -e SEONBYEOL_SECRET_KEY=... -e SEONBYEOL_DATA_KEY=... IMAGE
#   docker run ... IMAGE init-db          # migrate once before the servers start
# The tests in tests/deploy/ repeat these steps in a venv (no Docker engine on the build machine).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# Debian packages are not pinned one by one (DL3008): the base image's tag fixes the release
# (bookworm), and its security updates must come in with every rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY constraints.txt pyproject.toml README.md ./
COPY service ./service
COPY rules ./rules
COPY admin_ui ./admin_ui
COPY policies ./policies
# Wheels of the service and of every pinned dependency, then a non-editable install of them.
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt . \
    && python -m venv /opt/seonbyeol \
    && /opt/seonbyeol/bin/pip install --no-index --find-links /wheels --constraint constraints.txt /wheels/seonbyeol-*.whl \
    && /opt/seonbyeol/bin/seonbyeol --version

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/seonbyeol/bin:$PATH \
    TZ=Asia/Seoul \
    SEONBYEOL_ENV=production \
    SEONBYEOL_BIND=0.0.0.0:8000 \
    SEONBYEOL_WORKERS=4 \
    SEONBYEOL_TIMEOUT=60 \
    SEONBYEOL_GRACEFUL_TIMEOUT=30 \
    SEONBYEOL_WORKER_TMP_DIR=/dev/shm \
    SEONBYEOL_INSTANCE_PATH=/var/lib/seonbyeol
# tzdata: the service reckons in Korean time (Asia/Seoul); nothing else is added to the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/seonbyeol --shell /usr/sbin/nologin seonbyeol \
    && install -d -o seonbyeol -g seonbyeol -m 0700 /var/lib/seonbyeol
COPY --from=build /opt/seonbyeol /opt/seonbyeol
USER 10001:10001
WORKDIR /var/lib/seonbyeol
EXPOSE 8000
# Ready = the database answers and its schema is at the newest migration (GET /readyz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-m", "service.probe"]
# gunicorn is PID 1: SIGTERM (docker stop) lets requests in flight finish (SEONBYEOL_GRACEFUL_TIMEOUT).
STOPSIGNAL SIGTERM
ENTRYPOINT ["seonbyeol"]
CMD ["serve"]
