# syntax=docker/dockerfile:1
# The shop's image: every service runs from it as `python -m testbed.shop <service>` (the
# Deployments pass the service name as the argument). Built by CI (kaniko) once per service
# repository, tag = commit SHA; SERVICE only labels the image.
#
#   docker build -t localhost/testbed/shop-user:$(git rev-parse HEAD) --build-arg SERVICE=user .

ARG PYTHON_IMAGE=docker.io/library/python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY testbed ./testbed
# A virtualenv with the package and its dependencies; the runtime stage copies it whole (same
# base image, same interpreter path), so no compiler or pip cache reaches the final image.
RUN python -m venv /opt/shop && /opt/shop/bin/pip install .

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE=all
LABEL org.opencontainers.image.title="testbed shop (${SERVICE})" \
      org.opencontainers.image.source="https://git.testbed.internal/testbed/testbed" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/shop/bin:$PATH \
    SHOP_HOST=0.0.0.0 SHOP_STATE_DIR=/var/lib/shop
# No RUN --mount: kaniko (the CI builder) does not support it.
COPY --from=build /opt/shop /opt/shop
RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid shop --home-dir /var/lib/shop --no-create-home --shell /usr/sbin/nologin shop \
 && install -d -o shop -g shop -m 0750 /var/lib/shop
USER 10001:10001
WORKDIR /var/lib/shop
EXPOSE 50051 8080 9090
ENTRYPOINT ["python", "-m", "testbed.shop"]
CMD ["--help"]
