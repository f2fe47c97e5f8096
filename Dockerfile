# Build: docker build -t notion-unfurl .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin notion-unfurl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/notion-unfurl unfurl \
    && mkdir -p /var/lib/notion-unfurl/data && chown -R unfurl /var/lib/notion-unfurl
COPY --from=build /src/target/release/notion-unfurl /usr/local/bin/notion-unfurl
USER unfurl
WORKDIR /var/lib/notion-unfurl
ENV UNFURL_LISTEN=0.0.0.0:8080 \
    UNFURL_DATA_DIR=/var/lib/notion-unfurl/data \
    UNFURL_LOG_FORMAT=json
# The SQLite file and the generated secret; mount a volume here (fly.toml mounts /data and
# points UNFURL_DATA_DIR at it).
VOLUME /var/lib/notion-unfurl/data
EXPOSE 8080
ENTRYPOINT ["notion-unfurl"]
CMD ["serve"]
