# Static dumptriage binary on a small base image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/dumptriage ./cmd/dumptriage

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/dumptriage /dumptriage
# Listens on all interfaces, but serves no dump until an admin exists: the
# log shows a one-time setup URL (set DUMPTRIAGE_PUBLIC_URL to the address
# users reach, so links and the setup URL use it).
ENV DUMPTRIAGE_ADDR=0.0.0.0:8080 DUMPTRIAGE_DATA=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/dumptriage", "serve"]
