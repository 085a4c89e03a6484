# syntax=docker/dockerfile:1
# suspense-ssr's images, in one file (docs/deploy.md; tested by
# tests/containers.rs):
#   the server (the default target):  docker build -t suspense-ssr .
#   the nginx edge (TLS, HTTP/2, the static files, deploy/nginx.conf):
#                                     docker build --target edge -t suspense-ssr-edge .
# compose.yaml builds both and runs them with PostgreSQL.

ARG RUST_VERSION=1.95

# ---- build: the release binary, its dependencies compiled in a layer of
# their own (rebuilt only when Cargo.toml or Cargo.lock change).
FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates/axum-suspense/Cargo.toml crates/axum-suspense/
COPY crates/test-kit/Cargo.toml crates/test-kit/
COPY crates/sched-slice/Cargo.toml crates/sched-slice/
COPY crates/heap-trim/Cargo.toml crates/heap-trim/
COPY examples/Cargo.toml examples/
# Empty stand-ins for the workspace's own sources, so that cargo builds only
# the dependencies; then the stand-ins' outputs go, so that the real sources
# are built afresh below whatever their timestamps. The crates' downloads
# are kept in a build cache between builds (BuildKit's and buildah's
# `--mount=type=cache`), not in the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry mkdir -p src tests/it crates/axum-suspense/src crates/sched-slice/src crates/heap-trim/src crates/test-kit/src examples/src \
 && echo 'fn main() {}' >src/main.rs \
 && touch src/lib.rs tests/it/main.rs crates/axum-suspense/src/lib.rs crates/sched-slice/src/lib.rs crates/heap-trim/src/lib.rs crates/test-kit/src/lib.rs examples/src/lib.rs \
 && cargo build --release --locked --bin suspense-ssr \
 && cargo clean --release -p suspense-ssr -p axum-suspense -p sched-slice -p heap-trim \
 && rm -rf src crates/axum-suspense/src crates/sched-slice/src crates/heap-trim/src crates/test-kit/src examples/src
COPY src src
COPY templates templates
COPY static static
COPY crates/axum-suspense crates/axum-suspense
COPY crates/sched-slice crates/sched-slice
COPY crates/heap-trim crates/heap-trim
COPY crates/test-kit/src crates/test-kit/src
COPY examples/src examples/src
# Then the static files' .br and .gz variants, made now (the server's startup
# makes them too, if it may write; the edge serves them with gzip_static),
# and the prerendered pages' shells and the runtime they link, which the
# edge serves itself (docs/prerendering.md).
RUN --mount=type=cache,target=/usr/local/cargo/registry cargo build --release --locked --bin suspense-ssr \
 && cp target/release/suspense-ssr /usr/local/bin/ \
 && suspense-ssr export --out /tmp/export --database /tmp/export/board.sqlite3 >/dev/null \
 && mv /tmp/export/prerendered /src/prerendered \
 && rm -rf /tmp/export

# ---- edge: nginx with deploy/nginx.conf, the static files, the prerendered
# shells (the exported build's: the same binary as the instances), and the instances
# of compose.yaml. The certificate is mounted at run time in
# /etc/nginx/suspense-ssr/tls (fullchain.pem, privkey.pem).
FROM docker.io/library/nginx:stable AS edge
RUN rm -f /etc/nginx/conf.d/default.conf \
 && mkdir -p /etc/nginx/suspense-ssr/tls /var/www/acme
COPY deploy/nginx.conf /etc/nginx/conf.d/suspense-ssr.conf
COPY deploy/compose-upstreams.inc /etc/nginx/suspense-ssr/upstreams.inc
COPY --from=build /src/static /srv/suspense-ssr/static
COPY --from=build /src/prerendered /srv/suspense-ssr/prerendered
EXPOSE 80 443

# ---- app (the default): the binary and its static files on Debian's slim
# base, run as an unprivileged user. The board's SQLite file (when no
# DATABASE_URL is given) goes in /srv/suspense-ssr/data: mount a volume
# there to keep it.
FROM docker.io/library/debian:bookworm-slim AS app
RUN groupadd --system --gid 10001 suspense \
 && useradd --system --uid 10001 --gid suspense --home-dir /srv/suspense-ssr --no-create-home --shell /usr/sbin/nologin suspense \
 && mkdir -p /srv/suspense-ssr/data \
 && chown suspense:suspense /srv/suspense-ssr/data
COPY --from=build /usr/local/bin/suspense-ssr /usr/local/bin/suspense-ssr
COPY --from=build /src/static /srv/suspense-ssr/static
WORKDIR /srv/suspense-ssr
USER suspense:suspense
# Every interface of the container (the port is published, or reached from
# the edge over the stack's network); `healthcheck` reads it too.
ENV SUSPENSE_ADDR=0.0.0.0:3000 RUST_LOG=info
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["suspense-ssr", "healthcheck"]
# SIGTERM (the default stop signal) drains: in-flight pages get
# --drain-timeout (10s) to finish; give `docker stop -t` more than that.
ENTRYPOINT ["suspense-ssr"]
CMD ["serve"]
