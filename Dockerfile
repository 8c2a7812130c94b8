# Dockerfile: the purposed daemon in two stages. The build stage compiles a
# Release binary on debian:bookworm with the -dev packages; the runtime stage
# is debian:bookworm-slim with only the shared libraries it links against.
# scripts/docker-check repeats these steps without a container engine and
# checks that the binary needs exactly the runtime libraries listed here.
#
#   docker build -t purposed .
#   docker run -p 8080:8080 -e DATABASE_URL=postgresql://user:pass@db/purposed purposed
#
# Migrations are applied when the daemon starts (AUTO_MIGRATE=0 turns that
# off; `docker run ... purposed migrate` applies them and exits).

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libpq-dev libsodium-dev zlib1g-dev \
      libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY lib/ lib/
COPY server/ server/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPURPOSED_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && strip /build/purposed

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libpq5 libsodium23 zlib1g libcurl4 libssl3 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --home-dir /srv/purposed --shell /usr/sbin/nologin purposed \
 && install -d -o purposed -g purposed /srv/purposed/var /srv/purposed/var/mail
COPY --from=build /build/purposed /usr/local/bin/purposed
COPY migrations/ /srv/purposed/migrations/
COPY static/ /srv/purposed/static/
WORKDIR /srv/purposed
# DATABASE_URL comes from the environment of `docker run` (never baked in).
ENV LISTEN_ADDRESS=0.0.0.0 \
    PORT=8080 \
    STATIC_DIR=/srv/purposed/static \
    MIGRATIONS_DIR=/srv/purposed/migrations \
    MAIL_DIR=/srv/purposed/var/mail \
    MATCH_SNAPSHOT=/srv/purposed/var/match-index.snapshot
USER purposed
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/purposed"]
CMD ["serve"]
