# syntax=docker/dockerfile:1
# eeo-gateway's image: a static binary on distroless (CA certificates,
# tzdata, no shell), running as an unprivileged user.
#
#   docker build -t eeo-gateway:$(git describe --tags --always --dirty) \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# deploy/dockerfile_test.go checks that this builds what `make build` builds.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
# The generated stubs are a module of their own that go.mod replaces with
# ./gen/eeo, so its go.mod must be there before the download.
COPY gen/eeo/go.mod gen/eeo/go.sum ./gen/eeo/
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
# `make build` stamps the version exactly as outside the image; without cgo
# the binary is static and runs on distroless/static.
ENV CGO_ENABLED=0
RUN make build VERSION="${VERSION}" COMMIT="${COMMIT}" BUILD_DATE="${BUILD_DATE}"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/eeo-gateway /usr/local/bin/eeo-gateway
# distroless's nonroot user; numeric so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 9090 8080 9091
ENTRYPOINT ["/usr/local/bin/eeo-gateway"]
CMD ["serve", "--config", "/etc/eeo-gateway/config.yaml"]
