#!/usr/bin/env bash
# Build a Python base image from Debian packages, for Docker engines that cannot pull images.
#
#   scripts/build-base-image.sh [--force] [TAG]        (TAG defaults to dockml-base:bookworm)
#
# debootstrap installs a minimal Debian with python3, venv and pip into a folder, `docker import`
# turns the folder into an image, and a throwaway container checks that the image can serve as a
# Dockerfile's FROM: `python3 -m venv` works and `useradd` exists. An image already carrying TAG
# is kept unless --force is given. Needs root, debootstrap, a running Docker engine and Debian's
# package mirror (DEBIAN_MIRROR overrides debootstrap's default).
set -euo pipefail

suite=bookworm
packages=python3,python3-venv,python3-pip,ca-certificates,passwd
tag=dockml-base:$suite
force=0
previous_id=

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }

for arg in "$@"; do
    case $arg in
        --force) force=1 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "build-base-image: unknown option $arg" >&2; usage >&2; exit 2 ;;
        *) tag=$arg ;;
    esac
done

say() { printf 'build-base-image: %s\n' "$*"; }
die() { printf 'build-base-image: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "debootstrap needs root; run as root (or with sudo)"
command -v debootstrap >/dev/null || die "debootstrap not found; install it: apt-get install -y debootstrap"
command -v docker >/dev/null || die "docker not found; install it: apt-get install -y docker.io"
docker info >/dev/null 2>&1 || die "no Docker engine answers 'docker info'; start one (CI: bash .ci/docker-engine.sh)"

if docker image inspect "$tag" >/dev/null 2>&1; then
    if ((force == 0)); then
        say "$tag exists; keeping it (--force rebuilds)"
        exit 0
    fi
    say "$tag exists; rebuilding it (--force)"
    previous_id=$(docker image inspect --format '{{.Id}}' "$tag")
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/dockml-base.XXXXXX")
rootfs=$workdir/rootfs
cleanup() {
    # debootstrap mounts proc and sys inside the target and can leave them mounted when it fails:
    # unmount them first, so that removing the folder never reaches into the host's /proc or /sys.
    local mountpoint
    while read -r mountpoint; do
        umount -l "$mountpoint" 2>/dev/null || true
    done < <(awk -v root="$rootfs/" 'index($2, root) == 1 {print $2}' /proc/mounts | sort -r)
    rm -rf --one-file-system "$workdir"
}
trap cleanup EXIT

started=$SECONDS
say "debootstrap $suite (minbase + $packages) into $rootfs; two to three minutes"
debootstrap_args=(--variant=minbase "--include=$packages" "$suite" "$rootfs")
if [[ -n ${DEBIAN_MIRROR:-} ]]; then debootstrap_args+=("$DEBIAN_MIRROR"); fi
if ! debootstrap "${debootstrap_args[@]}" >"$workdir/debootstrap.log" 2>&1; then
    tail -n 30 "$workdir/debootstrap.log" >&2
    [[ -f $rootfs/debootstrap/debootstrap.log ]] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (last lines above)"
fi
say "debootstrap done in $((SECONDS - started)) s"

# Slim it as the official debian:*-slim images are: no docs (copyright files stay), man pages or
# translations, now and in the packages a derived image installs. Folders stay, because some
# packages' scripts expect /usr/share/man/man1 to exist. apt-get update restores the lists.
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
find "$rootfs"/var/log -type f -delete
find "$rootfs"/usr/share/{doc,man,info,locale} -not -type d -not -name copyright -not -name locale.alias -delete

imported=$SECONDS
say "importing $rootfs as $tag"
# /dev, /proc and /sys are provided by the engine at run time: ship them empty.
tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$rootfs" -c . |
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "LABEL org.opencontainers.image.description=\"Debian $suite with python3, venv and pip, built by dockml's scripts/build-base-image.sh\"" \
        --change 'CMD ["python3"]' \
        - "$tag" >/dev/null
say "imported in $((SECONDS - imported)) s"

say "checking that $tag can be built on (python3 -m venv, useradd)"
check='set -e
python3 -m venv /tmp/venv
/tmp/venv/bin/python -c "import sys; print(\"python\", sys.version.split()[0], \"venv ok\")"
/tmp/venv/bin/pip --version >/dev/null
useradd --create-home --shell /usr/sbin/nologin probe
id probe'
if ! docker run --rm --network host "$tag" sh -c "$check"; then
    docker image rm "$tag" >/dev/null 2>&1 || true
    if [[ -n $previous_id ]]; then
        docker tag "$previous_id" "$tag" && say "restored the previous $tag"
    fi
    die "the new $tag failed its check and was removed"
fi

# The image that --force replaced is now untagged: drop it unless a container or image still uses it.
if [[ -n $previous_id && $previous_id != $(docker image inspect --format '{{.Id}}' "$tag") ]]; then
    docker image rm "$previous_id" >/dev/null 2>&1 || say "kept the replaced image ${previous_id:7:12} (still in use)"
fi

size=$(docker image inspect --format '{{.Size}}' "$tag")
say "built $tag ($((size / 1000000)) MB) in $((SECONDS - started)) s"
