#!/usr/bin/env bash
# Moves SIZE bytes (default 1 GiB) up and down through the gateway — upload
# and report download, over gRPC and over REST — with the gateway, the EEO
# sandbox and the client each in their own process, then prints throughput,
# integrity and the gateway's peak resident memory (VmHWM).
#
#   make bench-files            # 1 GiB
#   SIZE=268435456 make bench-files
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1073741824}
SANDBOX_ADDR=127.0.0.1:18099
GRPC_ADDR=127.0.0.1:19090
HTTP_ADDR=127.0.0.1:18080

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listening on $1" >&2
	exit 1
}

go build -o "$work/eeo-gateway" ./cmd/eeo-gateway
go build -o "$work/filebench" ./scripts/filebench

secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
EEO_SANDBOX_CLIENT_SECRET=$secret "$work/eeo-gateway" sandbox --listen "$SANDBOX_ADDR" \
	--step 50ms --max-upload-bytes $((SIZE * 2)) --log-level warn &
pids+=($!)
wait_port "$SANDBOX_ADDR"

cat >"$work/gateway.yaml" <<YAML
grpc_addr: $GRPC_ADDR
http_addr: $HTTP_ADDR
log_level: warn
files:
  max_upload_bytes: $((SIZE * 2))
  watch_interval: 100ms
accounts:
  - name: demo
    token_url: http://$SANDBOX_ADDR/oauth2/token
    base_url: http://$SANDBOX_ADDR
    client_id: demo-client
    client_secret_env: BENCH_EEO_SECRET
YAML
BENCH_EEO_SECRET=$secret "$work/eeo-gateway" serve --config "$work/gateway.yaml" &
gateway=$!
pids+=("$gateway")
wait_port "$GRPC_ADDR"
wait_port "$HTTP_ADDR"

echo "moving $SIZE bytes each way through the gateway (pid $gateway) on $(nproc) cores"
"$work/filebench" -grpc "$GRPC_ADDR" -rest "http://$HTTP_ADDR" -size "$SIZE"
awk '/VmHWM/ {printf "gateway peak RSS (VmHWM): %.1f MiB\n", $2 / 1024}' "/proc/$gateway/status"
