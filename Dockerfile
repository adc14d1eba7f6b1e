# phpbridge as a container image: one static binary on a slim base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/phpbridge ./cmd/phpbridge

FROM debian:bookworm-slim
COPY --from=build /out/phpbridge /usr/local/bin/phpbridge
EXPOSE 8080
ENTRYPOINT ["phpbridge"]
CMD ["serve"]
