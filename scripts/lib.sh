# Helpers shared by the scripts in this folder (sourced, not run).

say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { say "$*"; exit 1; }

APT_UPDATED=""
apt_install() {
    [ "$(id -u)" = 0 ] || die "need root to apt-get install $*; install them by hand and run again"
    if [ -z "$APT_UPDATED" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The Debian mirror this machine already uses (the chroot must come from the same place).
debian_mirror() {
    local uri
    uri="$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)"
    if [ -z "$uri" ]; then
        uri="$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

newest_chroot_dir() {
    echo "${POWERSTATS_CHROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/powerstats/chroot-newest}"
}

# chroot_run DIR REPO_DIR CMD...: run CMD inside the chroot with /proc mounted and, when
# REPO_DIR is set, the repository bind-mounted at a private mount point whose path inside the
# chroot is in $POWERSTATS_REPO. The mounts live in a mount namespace of this run alone, so they
# vanish with it (also when CMD fails or is killed) and runs side by side never unmount each
# other's /proc.
chroot_run() {
    local dir="$1" repo="$2"
    shift 2
    local status=0 inside=""
    if [ -n "$repo" ]; then
        inside="/mnt/repo.$$.$RANDOM"
        mkdir -p "$dir$inside"
    fi
    # The host's CA bundle was copied in by scripts/setup; Home Assistant installs packages with
    # uv at run time, which must be told to trust it.
    local ca=/etc/ssl/certs/ca-certificates.crt
    unshare --mount --propagation private /bin/sh -c '
        dir="$1" repo="$2" inside="$3" ca="$4"
        shift 4
        mount -t proc proc "$dir/proc" || exit 1
        if [ -n "$repo" ]; then mount --bind "$repo" "$dir$inside" || exit 1; fi
        exec chroot "$dir" /usr/bin/env -i HOME=/root PATH=/opt/venv/bin:/usr/bin:/bin \
            LANG=C.UTF-8 SSL_CERT_FILE="$ca" REQUESTS_CA_BUNDLE="$ca" PIP_CERT="$ca" \
            UV_SYSTEM_CERTS=1 POWERSTATS_REPO="$inside" "$@"
    ' sh "$dir" "$repo" "$inside" "$ca" "$@" || status=$?
    [ -z "$inside" ] || rmdir "$dir$inside" 2>/dev/null || true
    return "$status"
}

# The Debian bookworm armhf root the agent's tests run in on 32-bit ARM (through qemu-user).
armhf_root_dir() {
    echo "${POWERSTATS_ARMHF_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/powerstats/armhf}"
}

# Debian's OpenRC (openrc-run, supervise-daemon), extracted for the agent's init tests.
openrc_dir() {
    echo "${POWERSTATS_OPENRC:-${XDG_CACHE_HOME:-$HOME/.cache}/powerstats/openrc}"
}
