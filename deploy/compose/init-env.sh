#!/bin/sh
# Write .env beside this script from .env.example, with a random password (32 hex digits) for
# every *_PASSWORD left empty. Refuses to overwrite an existing .env.
set -eu
cd "$(dirname "$0")"
if [ -e .env ]; then
    echo "init-env.sh: .env exists; not overwritten" >&2
    exit 1
fi
umask 077
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        *_PASSWORD=)
            printf '%s%s\n' "$line" "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" ;;
        *)
            printf '%s\n' "$line" ;;
    esac
done < .env.example > .env
echo "init-env.sh: wrote $(pwd)/.env" >&2
