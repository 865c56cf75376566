# syntax=docker/dockerfile:1
#
# The pvara image: one static binary on distroless, run as a non-root user.
#
#   docker build -t pvara:$(git describe --tags --always) \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# The subcommand picks the role: `serve` (the default), `worker --role=...`,
# `migrate up|wait`. There is no HEALTHCHECK: the image has no shell or
# HTTP client to run one with. Orchestrators probe the admin listener
# (PVARA_ADMIN_ADDR, :9090) over HTTP instead: /livez for liveness, /readyz
# for readiness (see deploy/k8s and docs/operations.md).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so a code change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${BUILD_DATE}" \
      -o /out/pvara ./cmd/pvara

# distroless/static: CA certificates, tzdata and /etc/passwd with the
# nonroot user (65532), nothing else. No shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pvara /pvara
USER 65532:65532
# 8080: the API (PVARA_HTTP_ADDR); 9090: /livez, /readyz, /metrics, pprof
# (PVARA_ADMIN_ADDR).
EXPOSE 8080 9090
ENTRYPOINT ["/pvara"]
CMD ["serve"]
