#!/usr/bin/env bash
# The Debian package (packaging/build-deb, `make deb`): metadata, contents, man pages, the
# systemd unit and the maintainer scripts, checked in a scratch directory; nothing is installed
# on this system and no server is needed (unit tier).
set -uo pipefail
bin="${RTETL_BIN:?RTETL_BIN must point at build/rtetl}"
src="${RTETL_SRC:?RTETL_SRC must point at the source tree}"
build="$(dirname "$bin")"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/rtetl-deb-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { # name, expected, actual
    if [ "$2" == "$3" ]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $1: expected [$2] got [$3]"; fi
}
has() { # name, haystack, needle
    if [[ "$2" == *"$3"* ]]; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL $1: [$3] not in [${2:0:300}]"; fi
}
finish() { echo "deb_package: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

# ---- build the package into a directory of our own -----------------------------------------
deb="$("$src/packaging/build-deb" "$build" "$tmp/out" 2>"$tmp/build.err")"
check "build-deb exit" 0 $?
[ -f "$deb" ] || { cat "$tmp/build.err"; check "package file" "a .deb" "${deb:-nothing}"; finish; }
version="$("$bin" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
check "file name" "rtetl_${version}-1_${arch}.deb" "$(basename "$deb")"

# ---- control fields ------------------------------------------------------------------------
check "Package" rtetl "$(dpkg-deb -f "$deb" Package)"
check "Version" "$version-1" "$(dpkg-deb -f "$deb" Version)"
check "Architecture" "$arch" "$(dpkg-deb -f "$deb" Architecture)"
depends="$(dpkg-deb -f "$deb" Depends)"
for p in adduser libc6 librdkafka1 libuv1 libssl3 libcurl4 libmicrohttpd12 libjansson4 libyaml-0-2 \
    liblz4-1; do
    has "Depends has $p" "$depends" "$p"
done
# libcurl and libmicrohttpd are opened with dlopen when a command needs them (src/util/dl.c), so
# `rtetl stream` does not map their chain of libraries: the binary must not link them.
check "libcurl and libmicrohttpd not linked (dlopen)" 0 \
    "$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}' | grep -c -E 'libcurl|libmicrohttpd' || true)"
# Every library the binary links directly is provided by a package named in Depends.
for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')"
    pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)"
    [ -n "$pkg" ] || pkg="$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)"
    has "Depends covers $lib ($pkg)" "$depends" "${pkg:-?}"
done
dpkg-deb -e "$deb" "$tmp/control"
check "conffiles" "/etc/rtetl/usuarios.yaml /etc/rtetl/usuarios.env" \
    "$(tr '\n' ' ' <"$tmp/control/conffiles" | sed 's/ $//')"
for s in postinst prerm postrm; do
    sh -n "$tmp/control/$s"; check "$s is valid sh" 0 $?
done

# ---- contents ------------------------------------------------------------------------------
contents="$(dpkg-deb -c "$deb" | awk '{print $1, $2, $NF}')"
has "binary" "$contents" "-rwxr-xr-x root/root ./usr/bin/rtetl"
has "unit file" "$contents" "root/root ./lib/systemd/system/rtetl-stream@.service"
has "example pipeline" "$contents" "-rw-r--r-- root/root ./etc/rtetl/usuarios.yaml"
has "example env (not world-readable)" "$contents" "-rw-r----- root/root ./etc/rtetl/usuarios.env"
listed() { awk -v h="$1:" '$0 == h {f=1; next} /^$/ {f=0} f {print $1}'; }
pages=rtetl
for c in $("$bin" --help | listed Commands); do
    pages+=" rtetl-$c"
    for sub in $("$bin" "$c" --help | listed Subcommands); do pages+=" rtetl-$c-$sub"; done
done
has "dlq subcommand pages listed" "$pages" "rtetl-dlq-stats rtetl-dlq-replay"
for p in $pages; do has "man page $p" "$contents" "./usr/share/man/man1/$p.1.gz"; done

# ---- the unpacked package: binary, config, man pages ----------------------------------------
root="$tmp/root"
dpkg-deb -x "$deb" "$root"
check "packaged --version" "$("$bin" --version)" "$("$root/usr/bin/rtetl" --version 2>&1)"
"$root/usr/bin/rtetl" stream --config "$root/etc/rtetl/usuarios.yaml" --print-config \
    >"$tmp/effective.yaml" 2>"$tmp/print.err"
check "packaged usuarios.yaml is a valid pipeline" 0 $?
has "usuarios.yaml target" "$(cat "$tmp/effective.yaml")" "tb_usuarios"
render() { # page -> plain text, wide, no hyphenation, no overstrike
    zcat "$root/usr/share/man/man1/$1.1.gz" | groff -man -Tutf8 -rLL=400n -rHY=0 2>"$tmp/groff.err" |
        sed 's/.\x08//g'
}
for p in $pages; do
    text="$(render "$p")"
    check "$p renders without errors" "" "$(cat "$tmp/groff.err")"
    for sec in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do has "$p has $sec" "$text" "$sec"; done
    has "$p NAME line" "$text" "$p - "
    # Every long option of the command's --help is documented on its page.
    words="${p#rtetl}"
    words="${words//-/ }"
    words="${words//fake api/fake-api}"
    # shellcheck disable=SC2086
    for opt in $("$bin" $words --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
        has "$p documents $opt" "$text" "$opt"
    done
done

# ---- the systemd unit ----------------------------------------------------------------------
unit="$root/lib/systemd/system/rtetl-stream@.service"
key() { sed -n "s/^$1=//p" "$unit"; }
check "ExecStart" '/usr/bin/rtetl stream --config /etc/rtetl/%i.yaml $RTETL_STREAM_ARGS' \
    "$(key ExecStart)"
check "EnvironmentFile" "-/etc/rtetl/%i.env" "$(key EnvironmentFile)"
check "User" rtetl "$(key User)"
check "KillSignal" SIGTERM "$(key KillSignal)"
check "Restart" on-failure "$(key Restart)"
for k in NoNewPrivileges ProtectHome PrivateTmp; do check "$k" yes "$(key "$k")"; done
check "ProtectSystem" strict "$(key ProtectSystem)"
# The stop timeout exceeds the drain timeout rtetl stream uses by default.
drain="$("$bin" stream --help | sed -n 's/.*--drain-timeout.*\[default: \([0-9]*\)s\].*/\1/p')"
stop="$(key TimeoutStopSec | sed -n 's/^\([0-9]*\)s$/\1/p')"
check "drain default parsed" 1 "$([ -n "$drain" ] && echo 1 || echo 0)"
check "TimeoutStopSec ${stop:-?}s > drain ${drain:-?}s" 1 "$([ "${stop:-0}" -gt "${drain:-999}" ] && echo 1 || echo 0)"
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP systemd-analyze verify: systemd-analyze is not installed (scripts/install-deps)"
else
    # A copy whose ExecStart points at the unpacked binary: verify checks that it exists.
    mkdir -p "$tmp/units"
    sed "s#^ExecStart=/usr/bin/rtetl#ExecStart=$root/usr/bin/rtetl#" "$unit" \
        >"$tmp/units/rtetl-stream@.service"
    printf '[Service]\nExecStart=/bin/true\n' >"$tmp/units/probe.service"
    manopt=--man=yes
    command -v man >/dev/null || manopt=--man=no
    if ! systemd-analyze verify --man=no "$tmp/units/probe.service" >"$tmp/probe.out" 2>&1; then
        echo "SKIP systemd-analyze verify: cannot run here: $(head -1 "$tmp/probe.out")"
    else
        out="$(MANPATH="$root/usr/share/man" systemd-analyze verify "$manopt" \
            "$tmp/units/rtetl-stream@.service" 2>&1)"
        check "systemd-analyze verify exit" 0 $?
        check "systemd-analyze verify says nothing" "" "$out"
        # The sandbox stays at systemd's "OK" exposure (3.4 when written; 10 is unconfined).
        score="$(systemd-analyze security --offline=true --no-pager \
            "$tmp/units/rtetl-stream@.service" 2>&1 | sed -n 's/.*Overall exposure level.*: \([0-9.]*\) .*/\1/p')"
        echo "systemd-analyze security: exposure ${score:-?}"
        systemd-analyze security --offline=true --threshold=40 --no-pager \
            "$tmp/units/rtetl-stream@.service" >/dev/null 2>&1
        check "exposure ${score:-?} <= 4.0" 0 $?
    fi
fi

# ---- maintainer scripts, with stand-ins for the commands they call ------------------------
fake="$tmp/fakebin"
mkdir -p "$fake"
for c in getent adduser useradd systemctl; do
    printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$c" "$tmp" >"$fake/$c"
    chmod +x "$fake/$c"
done
echo 'exit ${RTETL_FAKE_GETENT:-2}' >>"$fake/getent" # 2: no such user
PATH="$fake:$PATH" sh "$tmp/control/postinst" configure
check "postinst first install exit" 0 $?
has "postinst creates a system user" "$(cat "$tmp/calls")" "adduser --system --group"
has "postinst user name" "$(grep adduser "$tmp/calls")" " rtetl"
: >"$tmp/calls"
RTETL_FAKE_GETENT=0 PATH="$fake:$PATH" sh "$tmp/control/postinst" configure "$version-0"
check "postinst upgrade exit" 0 $?
check "postinst keeps an existing user" "" "$(grep -E 'adduser|useradd' "$tmp/calls")"
: >"$tmp/calls"
PATH="$fake:$PATH" sh "$tmp/control/postrm" remove
check "postrm remove exit" 0 $?
check "postrm remove leaves the user" "" "$(grep -E 'deluser|userdel' "$tmp/calls" "$tmp/control/postrm")"
finish
