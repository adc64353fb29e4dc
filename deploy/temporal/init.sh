#!/bin/sh
# Prepare the Temporal namespace Parley runs in: the `temporal-init` one-shot job in docker-compose.yml (image
# temporalio/admin-tools, run with `sh`). Waits for the frontend, creates the namespace if it is missing and
# registers Parley's custom search attributes (workflows/search_attributes.py). Everything tolerates "already
# exists", so it runs on every `docker compose up`; api and worker start only after it exits 0.
set -eu

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-72h}"

# Keep in sync with workflows/search_attributes.py (all Keyword; SQL visibility allows 10 Keyword attributes).
SEARCH_ATTRIBUTES="ParleyChannelType ParleyStatus ParleyQueueSid ParleyWorkerSid ParleyTaskStatus ParleyAccountSid ParleyConversationSid"

# Prefer the IPv4 address of the frontend (the server binds 0.0.0.0 only); fall back to the name as given.
host="${ADDRESS%:*}"
port="${ADDRESS##*:}"
ip="$(getent ahostsv4 "${host}" 2>/dev/null | awk 'NR == 1 { print $1 }')" || ip=""
if [ -n "${ip}" ]; then
    ADDRESS="${ip}:${port}"
fi

echo "Waiting for the Temporal frontend at ${ADDRESS}..."
attempt=0
until temporal operator cluster health --address "${ADDRESS}" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "${attempt}" -ge 90 ]; then
        echo "Temporal at ${ADDRESS} did not become healthy; giving up." >&2
        temporal operator cluster health --address "${ADDRESS}" >&2 || true
        exit 1
    fi
    sleep 2
done
echo "Temporal is serving."

if temporal operator namespace describe --namespace "${NAMESPACE}" --address "${ADDRESS}" >/dev/null 2>&1; then
    echo "Namespace '${NAMESPACE}' already exists."
else
    echo "Creating namespace '${NAMESPACE}' (retention ${RETENTION})..."
    if ! out="$(temporal operator namespace create --namespace "${NAMESPACE}" --retention "${RETENTION}" \
        --address "${ADDRESS}" 2>&1)"; then
        if printf '%s' "${out}" | grep -qi "already exists"; then
            echo "Namespace '${NAMESPACE}' already exists."
        else
            printf '%s\n' "${out}" >&2
            exit 1
        fi
    fi
fi

# A freshly created namespace takes a few seconds to reach the frontend's namespace cache, so each attribute is
# retried for a while instead of failing on the first "namespace not found".
register_search_attribute() {
    name="$1"
    type="$2"
    attempt=0
    while :; do
        if temporal operator search-attribute list --namespace "${NAMESPACE}" --address "${ADDRESS}" 2>/dev/null \
            | grep -qw "${name}"; then
            echo "Search attribute ${name} is registered."
            return 0
        fi
        if out="$(temporal operator search-attribute create --name "${name}" --type "${type}" \
            --namespace "${NAMESPACE}" --address "${ADDRESS}" 2>&1)"; then
            echo "Search attribute ${name} (${type}) created."
            return 0
        fi
        if printf '%s' "${out}" | grep -qi "already exists"; then
            echo "Search attribute ${name} already exists."
            return 0
        fi
        attempt=$((attempt + 1))
        if [ "${attempt}" -ge 30 ]; then
            echo "Could not register search attribute ${name}:" >&2
            printf '%s\n' "${out}" >&2
            return 1
        fi
        sleep 2
    done
}

for name in ${SEARCH_ATTRIBUTES}; do
    register_search_attribute "${name}" Keyword
done

echo "Temporal namespace '${NAMESPACE}' is ready for Parley."
