# Two images from one file, both non-root (same uids as the chart and the rendered pods) and fit for a
# read-only root filesystem:
#   docker buildx build --target operator -t ghcr.io/mlops-operator/operator:0.1.0 .
#   docker buildx build --target scoring  -t ghcr.io/mlops-operator/scoring:0.1.0 .
# Behind a TLS-inspecting proxy, hand pip your full CA bundle as a build secret (never baked into a layer):
#   ... --secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt
# Locally, without Docker, hack/ and `mlopsctl dev` build these targets with BuildKit (docs/testing.md).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS python
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LANG=C.UTF-8

# Build stages: virtualenvs are built here, and only the finished venv reaches the final images.
FROM python AS source
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY operator ./operator

FROM source AS build-operator
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python -m venv /opt/mlops \
 && /opt/mlops/bin/pip install -c constraints.txt . \
 && /opt/mlops/bin/python -m compileall -q /opt/mlops/lib

# The scoring server and the model fetcher need none of the operator's dependencies: the scoring extra
# plus the usual model libraries. Models needing more libraries use this image as their base.
FROM source AS build-scoring
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python -m venv /opt/mlops \
 && /opt/mlops/bin/pip install -c constraints.txt --no-deps . \
 && /opt/mlops/bin/pip install -c constraints.txt uvicorn httptools uvloop orjson inference-schema numpy \
      scikit-learn joblib \
 && /opt/mlops/bin/python -m compileall -q /opt/mlops/lib

FROM python AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.source="https://github.com/mlops-operator/mlops-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.vendor="mlops-operator"
ENV PATH=/opt/mlops/bin:$PATH
WORKDIR /tmp

FROM runtime AS operator
LABEL org.opencontainers.image.title="mlops-operator" \
      org.opencontainers.image.description="Kubernetes operator for MLOpsPlatform and ModelDeployment"
RUN useradd --uid 65532 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mlops
COPY --from=build-operator /opt/mlops /opt/mlops
USER 65532:65532
ENTRYPOINT ["mlopsctl"]
CMD ["operator"]

FROM runtime AS scoring
LABEL org.opencontainers.image.title="mlops-scoring" \
      org.opencontainers.image.description="Azure ML compatible scoring server (score.py init()/run())"
RUN useradd --uid 1000 --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin model
COPY --from=build-scoring /opt/mlops /opt/mlops
USER 1000:1000
EXPOSE 5001
ENTRYPOINT ["python", "-m", "mlops_operator.scoring"]
