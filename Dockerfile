# kspm container image, for people who build with Docker (or Buildah/Podman).
#
# NOT TESTED HERE: the machines this project is built and tested on have no Docker engine. The
# image CI does test is written without Docker by scripts/oci-image.py (run by scripts/release,
# tested by crates/kspm/tests/release.rs); this file aims at the same result: one static binary,
# the CA certificates, user 65532, no shell.
#
#   docker build --build-arg KSPM_GIT_COMMIT="$(git rev-parse HEAD)" -t kspm .
#   docker run --rm -v "$PWD:/work:ro" kspm scan /work

FROM rust:1.95-bookworm AS build
ARG KSPM_GIT_COMMIT=unknown
WORKDIR /src
COPY . .
# Static musl, as scripts/release builds it (which links with zig; Debian's musl-gcc does the same
# job here); build.rs embeds KSPM_GIT_COMMIT since .git is usually not in the build context.
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
 && rustup target add x86_64-unknown-linux-musl \
 && KSPM_GIT_COMMIT="$KSPM_GIT_COMMIT" CARGO_PROFILE_RELEASE_STRIP=symbols \
    cargo build --release --locked --target x86_64-unknown-linux-musl -p kspm \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/kspm /out/usr/local/bin/kspm \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && mkdir -m 1777 /out/tmp

FROM scratch
ARG KSPM_GIT_COMMIT=unknown
COPY --from=build /out/ /
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
LABEL org.opencontainers.image.source="https://example.invalid/kspm" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="$KSPM_GIT_COMMIT"
ENTRYPOINT ["/usr/local/bin/kspm"]
CMD ["--help"]
