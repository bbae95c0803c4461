# pipit in a container: the binary alone, no Python.
#
#   docker build -t pipit .
#   docker run --rm -p 8000:8000 --user "$(id -u)" -v "$PWD:/project" pipit    # pipit serve
#   docker run --rm --user "$(id -u)" -v "$PWD:/project" pipit repro          # any command
#
# Stage 1 builds the release binary; stage 2 is a distroless image with the
# C runtime pipit links to (glibc, libgcc) and nothing else: no shell, no
# package manager. TLS is rustls, so no OpenSSL either.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pipit && cp target/release/pipit /pipit

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /pipit /usr/local/bin/pipit
WORKDIR /project
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/pipit"]
CMD ["serve", "--addr", "0.0.0.0:8000"]
