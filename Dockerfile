# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target operator -t ghcr.io/mlops-operator/operator:0.1.0 .
#   docker build --target scoring  -t ghcr.io/mlops-operator/scoring:0.1.0 .
# Both run as a non-root user with a read-only root filesystem (see charts/mlops-operator/values.yaml).

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --uid 65532 --create-home --shell /usr/sbin/nologin mlops
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY operator ./operator

# The operator: kopf, the Kubernetes client and the Azure SDKs.
FROM base AS operator
RUN pip install -c constraints.txt . && rm -rf /src
USER 65532
ENTRYPOINT ["mlopsctl"]
CMD ["operator"]

# The scoring server (and the model fetcher): only the scoring extra plus the usual model libraries, none
# of the operator's dependencies. Models needing more libraries use this image as their base.
FROM base AS scoring
RUN pip install -c constraints.txt --no-deps . \
 && pip install -c constraints.txt uvicorn httptools uvloop orjson inference-schema numpy scikit-learn joblib \
 && rm -rf /src
USER 1000
EXPOSE 5001
ENTRYPOINT ["python", "-m", "mlops_operator.scoring"]
