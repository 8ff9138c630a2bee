# syntax=docker/dockerfile:1
# One file, two images: `docker build --target rpc-server .` and `--target http-server .`.

FROM rust:1-bookworm AS chef
# etcd-client compiles etcd's protobuf definitions with protoc.
RUN apt-get update \
    && apt-get install -y --no-install-recommends protobuf-compiler libprotobuf-dev \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# The dependency layer: rebuilt only when Cargo.toml / Cargo.lock change, not the sources.
COPY --from=planner /src/recipe.json recipe.json
# Patched dependencies (vendor/*/PATCHED.md) are not part of the recipe: they are sources.
COPY vendor vendor
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin rpc-server --bin http-server

FROM debian:bookworm-slim AS runtime
# curl for the HEALTHCHECK; ca-certificates for TLS database or etcd endpoints.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home im
USER 10001
ENV RUST_LOG=info

FROM runtime AS rpc-server
COPY --from=build /src/target/release/rpc-server /usr/local/bin/rpc-server
EXPOSE 8888 9888
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:9888/readyz"]
ENTRYPOINT ["/usr/local/bin/rpc-server"]

FROM runtime AS http-server
COPY --from=build /src/target/release/http-server /usr/local/bin/http-server
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/usr/local/bin/http-server"]
