#!/bin/sh
# Checks the platform's JetStream streams after a deployment: each producing service's stream
# (LFI_<SERVICE>) is file-backed and has the expected number of replicas. Run it in the
# chart's nats-box (it has the `nats` CLI and the server's address):
#
#   kubectl -n nats exec -i deploy/nats-box -- sh -s 3 < deploy/k8s/nats/verify-streams.sh
#
# The argument is the expected replica count (3 in production, 1 in development). The streams
# are made by the services when they start (num_replicas = LFI_<NAME>_NATS_STREAM_REPLICAS), so
# run it once every service is ready. A stream made earlier with fewer replicas is brought to
# the configured count by its service on its next start (JetStream can change num_replicas of
# an existing stream).
set -eu
expected="${1:-3}"
status=0
streams="$(nats stream ls --names | grep '^LFI_' || true)"
if [ -z "$streams" ]; then
    echo "no LFI_* stream yet: have the services started?"
    exit 1
fi
for stream in $streams; do
    info="$(nats stream info "$stream" --json)"
    flat="$(printf '%s' "$info" | tr -d ' \n')"
    replicas="$(printf '%s' "$flat" | sed -n 's/.*"num_replicas":\([0-9]*\).*/\1/p')"
    storage="$(printf '%s' "$flat" | sed -n 's/.*"storage":"\([a-z]*\)".*/\1/p')"
    if [ "$replicas" != "$expected" ] || [ "$storage" != "file" ]; then
        echo "WRONG  $stream: num_replicas=$replicas storage=$storage (want $expected, file)"
        status=1
    else
        echo "OK     $stream: num_replicas=$replicas storage=$storage"
    fi
done
# Where each replica is and whether it is current (lagging or offline replicas show here).
nats stream report
exit "$status"
