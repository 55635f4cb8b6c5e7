#!/usr/bin/env bash
# CI: a Docker engine on this machine (Debian's docker.io) and the base image the container tests
# build on (scripts/build-base-image.sh), since the engine here can pull no image.
# Safe to run again: installs only what is missing and reuses an engine that already answers.
set -euo pipefail
cd "$(dirname "$0")/.."

dockerd_log=/tmp/dockml-dockerd.log
base_image=${DOCKML_TEST_BASE_IMAGE:-dockml-base:bookworm}
started=$SECONDS
say() { printf 'docker-engine [%3d s]: %s\n' "$((SECONDS - started))" "$*"; }
die() { printf 'docker-engine [%3d s]: error: %s\n' "$((SECONDS - started))" "$*" >&2; exit 1; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    say "installed ${missing[*]}"
fi

# The pid in pid file $1 if it is a live process named $2. A killed dockerd leaves its pid file,
# and its containerd's, behind: a new dockerd refuses to start beside the first and waits 10 s in
# vain for the second, also while the killed process is still an unreaped zombie.
live_pid() {
    local pid state
    pid=$(cat "$1" 2>/dev/null) || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" && $state != Z ]] && echo "$pid"
}

if docker info >/dev/null 2>&1; then
    say "a Docker engine is already running; using it"
else
    if dockerd_pid=$(live_pid /var/run/docker.pid dockerd); then
        say "dockerd (pid $dockerd_pid) is running but not answering yet; waiting for it"
    else
        rm -f /var/run/docker.pid
        live_pid /var/run/docker/containerd/containerd.pid containerd >/dev/null ||
            rm -f /var/run/docker/containerd/containerd.pid
        # No bridge and no iptables rules: this machine allows no traffic beyond loopback, so
        # containers use --network host (or none), and the engine needs no network setup.
        say "starting dockerd (log: $dockerd_log)"
        setsid dockerd --bridge=none --iptables=false >"$dockerd_log" 2>&1 </dev/null &
        dockerd_pid=$!
    fi
    deadline=$((SECONDS + 60))
    until docker info >/dev/null 2>&1; do
        if ! kill -0 "$dockerd_pid" 2>/dev/null; then
            tail -n 40 "$dockerd_log" >&2
            die "dockerd exited at start (log above)"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 40 "$dockerd_log" >&2
            die "dockerd (pid $dockerd_pid) did not answer 'docker info' within 60 s (log above)"
        fi
        sleep 0.5
    done
    say "dockerd (pid $dockerd_pid) is ready"
fi
say "$(docker version --format 'client {{.Client.Version}}, engine {{.Server.Version}} (API {{.Server.APIVersion}})')"

bash scripts/build-base-image.sh "$base_image"
say "done"
