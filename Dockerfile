# Build: docker build -t notion-unfurl .   (fly deploy builds it the same way)
#
# Three build stages so that a change to our sources does not rebuild the dependencies:
# cargo-chef's recipe lists the dependency graph only (manifests and Cargo.lock, not our
# code), so the `cook` layer below stays cached until a dependency changes.
FROM rust:1-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The same profile, lock file and target as the build below, or its artefacts would not
# be reused.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin notion-unfurl
COPY . .
RUN cargo build --release --locked --bin notion-unfurl

FROM debian:bookworm-slim
# A fixed uid/gid, so files on a volume keep belonging to the user across image rebuilds.
# (useradd warns that 10001 is above the system range: outside it, no package a base-image
# update adds can be given the same id.)
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 unfurl \
    && useradd --system --uid 10001 --gid unfurl --home-dir /var/lib/notion-unfurl \
       --shell /usr/sbin/nologin unfurl \
    && mkdir -p /var/lib/notion-unfurl /data \
    && chown unfurl:unfurl /var/lib/notion-unfurl /data
# The real binary sits out of PATH; `notion-unfurl` is deploy/entrypoint.sh, which makes
# the data directory the user's and then runs the binary as that user (see its comments).
COPY --from=build /src/target/release/notion-unfurl /usr/local/lib/notion-unfurl/notion-unfurl
COPY deploy/entrypoint.sh /usr/local/bin/notion-unfurl
# A checkout that lost the executable bit (or a umask) must not make an image that cannot
# start.
RUN chmod 0755 /usr/local/bin/notion-unfurl /usr/local/lib/notion-unfurl/notion-unfurl
WORKDIR /var/lib/notion-unfurl
# fly.toml sets the same values (tests/deploy.rs checks that they agree): listen on every
# interface, because Fly's proxy (or Docker's port mapping) connects from outside the
# container; keep the SQLite file, the generated secret and the instance ids on /data.
ENV UNFURL_LISTEN=0.0.0.0:8080 \
    UNFURL_DATA_DIR=/data \
    UNFURL_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
# No USER line: the container starts as root only for the entrypoint's ownership fix on a
# freshly mounted (root-owned) volume; the server itself always runs as `unfurl`.
ENTRYPOINT ["/usr/local/bin/notion-unfurl"]
CMD ["serve"]
