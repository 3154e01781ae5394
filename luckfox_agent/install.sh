#!/bin/sh
# Install the PowerStats agent (POSIX sh; runs under BusyBox ash).
#
#   sh install.sh [--no-start]
#
# Environment (all optional):
#   DESTDIR   stage into this root instead of / (image builds, tests): no users are created
#             with system tools and no service is started; /etc/passwd and /etc/group under
#             DESTDIR get the agent's user instead.
#   PREFIX    program prefix (default /usr): code in $PREFIX/lib/powerstats-agent, dashboard in
#             $PREFIX/share/powerstats-agent/www, command $PREFIX/bin/powerstats-agent
#   INIT      systemd | openrc | busybox | none (default: detected)
#   PYTHON    the interpreter the service runs (default: python3 found on PATH)
#   AGENT_USER  system user the agent runs as (default powerstats)
#   WWW       the dashboard folder to install (default: the project's www/ beside this folder)
set -eu

NAME=powerstats-agent
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
AGENT_USER=${AGENT_USER:-powerstats}
HERE=$(cd "$(dirname "$0")" && pwd)
WWW=${WWW:-$HERE/../www}
START=yes
for arg in "$@"; do
	case "$arg" in
		--no-start) START=no ;;
		-h|--help) sed -n '2,17p' "$0"; exit 0 ;;
		*) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done

LIBDIR=$PREFIX/lib/$NAME
SHAREDIR=$PREFIX/share/$NAME
BINDIR=$PREFIX/bin
CONF=/etc/$NAME.conf
DATADIR=/var/lib/$NAME
ROOT=$DESTDIR

say() { echo "install.sh: $*"; }
die() { echo "install.sh: error: $*" >&2; exit 1; }

if [ -z "${PYTHON:-}" ]; then
	if [ -n "$DESTDIR" ]; then
		PYTHON=/usr/bin/python3 # the target's interpreter, not this machine's
	else
		PYTHON=$(command -v python3 || true)
		[ -n "$PYTHON" ] ||
			die "python3 (3.9 or newer) is needed: apk add python3 (Alpine) or enable it in Buildroot"
	fi
fi
if [ -z "$DESTDIR" ]; then
	"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
		die "$PYTHON is older than 3.9"
fi

detect_init() {
	if [ -n "$DESTDIR" ]; then
		if [ -e "$ROOT/lib/systemd/systemd" ] || [ -e "$ROOT/usr/lib/systemd/systemd" ]; then
			echo systemd
		elif [ -e "$ROOT/sbin/openrc-run" ] || [ -e "$ROOT/sbin/openrc" ]; then
			echo openrc
		else
			echo busybox
		fi
	elif [ -d /run/systemd/system ]; then
		echo systemd
	elif command -v openrc-run >/dev/null 2>&1 || [ -x /sbin/openrc-run ]; then
		echo openrc
	else
		echo busybox
	fi
}
INIT=${INIT:-$(detect_init)}
case "$INIT" in systemd|openrc|busybox|none) ;; *) die "INIT must be systemd, openrc, busybox or none" ;; esac

# -- the code -------------------------------------------------------------------------------
mkdir -p "$ROOT$LIBDIR/luckfox_agent/init" "$ROOT$BINDIR"
for f in "$HERE"/*.py "$HERE/admin.css" "$HERE/powerstats-agent.conf.example"; do
	cp "$f" "$ROOT$LIBDIR/luckfox_agent/"
done
for f in "$HERE"/init/*; do
	[ -f "$f" ] || continue # not a __pycache__ left by a run from the source tree
	cp "$f" "$ROOT$LIBDIR/luckfox_agent/init/"
done
chmod -R go-w "$ROOT$LIBDIR"
if [ -z "$DESTDIR" ]; then
	"$PYTHON" -m compileall -q "$ROOT$LIBDIR/luckfox_agent" >/dev/null 2>&1 || true
	# The service runs with -OO (PYTHONOPTIMIZE=2, fewer bytes resident): its own .pyc too.
	PYTHONOPTIMIZE=2 "$PYTHON" -m compileall -q "$ROOT$LIBDIR/luckfox_agent" >/dev/null 2>&1 || true
fi

cat > "$ROOT$BINDIR/$NAME" <<WRAPPER
#!/bin/sh
# PowerStats agent command (installed by install.sh).
PYTHONPATH="$LIBDIR" POWERSTATS_AGENT_USER="$AGENT_USER" MALLOC_ARENA_MAX=\${MALLOC_ARENA_MAX:-1} exec "$PYTHON" -m luckfox_agent --config "\${POWERSTATS_AGENT_CONFIG:-$CONF}" "\$@"
WRAPPER
chmod 755 "$ROOT$BINDIR/$NAME"

# -- the dashboard --------------------------------------------------------------------------
if [ -f "$WWW/index.html" ]; then
	mkdir -p "$ROOT$SHAREDIR"
	rm -rf "$ROOT$SHAREDIR/www"
	cp -R "$WWW" "$ROOT$SHAREDIR/www"
	# A .gz beside each text file: the agent sends it as is to browsers that accept gzip,
	# so it never holds a compressor for the dashboard (the board's RAM is the budget). The
	# release tarball brings them (made with zopfli, smaller than gzip -9): each is kept when it
	# unpacks to exactly its file (and touched, or the agent would take it for older than its
	# file); any other is made here.
	if command -v gzip >/dev/null 2>&1; then
		find "$ROOT$SHAREDIR/www" -type f \( -name '*.html' -o -name '*.js' -o -name '*.mjs' \
			-o -name '*.css' -o -name '*.json' -o -name '*.svg' -o -name '*.map' \) |
		while read -r f; do
			if [ -f "$f.gz" ] && gzip -dc "$f.gz" 2>/dev/null | cmp -s - "$f"; then
				touch "$f.gz"
			else
				gzip -9 -c "$f" > "$f.gz"
			fi
		done
	fi
	chmod -R go-w,a+rX "$ROOT$SHAREDIR"
else
	say "no dashboard at $WWW (set WWW=...); only the data will be served"
fi

# -- the user -------------------------------------------------------------------------------
free_id() { # first id from 100 to 999 not used in file $1
	id=100
	while [ "$id" -lt 1000 ]; do
		if ! cut -d: -f3 "$1" 2>/dev/null | grep -qx "$id"; then
			echo "$id"
			return
		fi
		id=$((id + 1))
	done
	die "no free system id in $1"
}
if [ -n "$DESTDIR" ]; then
	mkdir -p "$ROOT/etc"
	touch "$ROOT/etc/group" "$ROOT/etc/passwd"
	if ! cut -d: -f1 "$ROOT/etc/group" | grep -qx "$AGENT_USER"; then
		gid=$(free_id "$ROOT/etc/group")
		echo "$AGENT_USER:x:$gid:" >> "$ROOT/etc/group"
	fi
	gid=$(grep "^$AGENT_USER:" "$ROOT/etc/group" | cut -d: -f3)
	if ! cut -d: -f1 "$ROOT/etc/passwd" | grep -qx "$AGENT_USER"; then
		uid=$(free_id "$ROOT/etc/passwd")
		echo "$AGENT_USER:x:$uid:$gid:PowerStats agent:$DATADIR:/sbin/nologin" >> "$ROOT/etc/passwd"
		if [ -f "$ROOT/etc/shadow" ]; then
			echo "$AGENT_USER:!:1::::::" >> "$ROOT/etc/shadow"
		fi
	fi
elif ! id "$AGENT_USER" >/dev/null 2>&1; then
	if command -v useradd >/dev/null 2>&1; then
		useradd --system --user-group --home-dir "$DATADIR" --no-create-home \
			--shell /sbin/nologin --comment "PowerStats agent" "$AGENT_USER"
	else # BusyBox / Alpine
		addgroup -S "$AGENT_USER" 2>/dev/null || true
		adduser -S -D -H -h "$DATADIR" -s /sbin/nologin -G "$AGENT_USER" -g "PowerStats agent" "$AGENT_USER"
	fi
	say "created system user $AGENT_USER"
fi

# -- data and config (kept on upgrade) --------------------------------------------------------
mkdir -p "$ROOT$DATADIR/www"
chmod 755 "$ROOT$DATADIR"
if [ ! -f "$ROOT$CONF" ]; then
	mkdir -p "$ROOT/etc"
	(umask 077; sed -e "s|^#dashboard = .*|dashboard = $SHAREDIR/www|" \
		"$HERE/powerstats-agent.conf.example" > "$ROOT$CONF")
	# root:$AGENT_USER 0640: the service reads it, only root changes it, nobody else sees
	# the token; `setup` keeps owner, group and mode when it rewrites the file.
	if [ -n "$DESTDIR" ]; then
		chown "0:$(grep "^$AGENT_USER:" "$ROOT/etc/group" | cut -d: -f3)" "$ROOT$CONF" 2>/dev/null || true
	else
		chown "0:$AGENT_USER" "$CONF"
	fi
	chmod 640 "$ROOT$CONF"
	say "wrote $CONF; finish it with: $NAME setup"
else
	say "kept the existing $CONF"
fi
if [ -z "$DESTDIR" ]; then
	chown -R "$AGENT_USER:$AGENT_USER" "$DATADIR"
else # an image: the ids from the image's own passwd and group (needs root; else left as is)
	chown -R "$(grep "^$AGENT_USER:" "$ROOT/etc/passwd" | cut -d: -f3):$(grep "^$AGENT_USER:" "$ROOT/etc/group" | cut -d: -f3)" \
		"$ROOT$DATADIR" 2>/dev/null || true
fi

# -- the service ----------------------------------------------------------------------------
render() { # template -> target with the install's paths
	sed -e "s|@PYTHON@|$PYTHON|g" -e "s|@CONF@|$CONF|g" -e "s|@USER@|$AGENT_USER|g" \
		-e "s|@LIBDIR@|$LIBDIR|g" -e "s|@DATADIR@|$DATADIR|g" "$1" > "$2"
}
case "$INIT" in
	systemd)
		mkdir -p "$ROOT/etc/systemd/system"
		render "$HERE/init/powerstats-agent.service" "$ROOT/etc/systemd/system/$NAME.service"
		chmod 644 "$ROOT/etc/systemd/system/$NAME.service"
		if [ -z "$DESTDIR" ]; then
			systemctl daemon-reload
			systemctl enable "$NAME"
			[ "$START" = no ] || systemctl restart "$NAME"
		fi
		;;
	openrc)
		mkdir -p "$ROOT/etc/init.d"
		render "$HERE/init/powerstats-agent.openrc" "$ROOT/etc/init.d/$NAME"
		chmod 755 "$ROOT/etc/init.d/$NAME"
		if [ -z "$DESTDIR" ]; then
			rc-update add "$NAME" default
			[ "$START" = no ] || rc-service "$NAME" restart
		fi
		;;
	busybox)
		mkdir -p "$ROOT/etc/init.d"
		render "$HERE/init/S95powerstats-agent" "$ROOT/etc/init.d/S95$NAME"
		chmod 755 "$ROOT/etc/init.d/S95$NAME"
		if [ -z "$DESTDIR" ] && [ "$START" = yes ]; then
			"/etc/init.d/S95$NAME" stop >/dev/null 2>&1 || true
			"/etc/init.d/S95$NAME" start
		fi
		;;
	none) ;;
esac
say "installed ($INIT) under ${DESTDIR:-/}; check with: $NAME doctor"
