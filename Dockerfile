# syntax=docker/dockerfile:1
# Multi-stage build: a Rust builder, then a small Debian runtime running as a non-root user.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential pkg-config libssl-dev zlib1g-dev perl python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY examples ./examples
COPY data ./data
COPY samples ./samples
COPY config ./config
RUN cargo build --release --locked --bin earshot

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin earshot \
    && mkdir -p /var/lib/earshot/state && chown 10001 /var/lib/earshot/state
COPY --from=build /src/target/release/earshot /usr/local/bin/earshot
COPY config/earshot.toml config/catalog.toml /etc/earshot/
COPY samples /usr/share/earshot/samples
USER 10001
ENV EARSHOT_CONFIG=/etc/earshot/earshot.toml
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:9464/healthz || exit 1
ENTRYPOINT ["earshot"]
CMD ["run"]
