#!/bin/sh
# Remove the PowerStats agent (POSIX sh; runs under BusyBox ash).
#
#   sh uninstall.sh [--purge]
#
# Removes the code, the dashboard, the command and the service. The configuration
# (/etc/powerstats-agent.conf), the mirrored data (/var/lib/powerstats-agent) and the system
# user are kept unless --purge is given. DESTDIR, PREFIX and AGENT_USER as for install.sh.
set -eu

NAME=powerstats-agent
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
AGENT_USER=${AGENT_USER:-powerstats}
PURGE=no
for arg in "$@"; do
	case "$arg" in
		--purge) PURGE=yes ;;
		-h|--help) sed -n '2,8p' "$0"; exit 0 ;;
		*) echo "uninstall.sh: unknown option $arg" >&2; exit 2 ;;
	esac
done
ROOT=$DESTDIR
CONF=/etc/$NAME.conf
DATADIR=/var/lib/$NAME
say() { echo "uninstall.sh: $*"; }

# -- stop the service -----------------------------------------------------------------------
if [ -z "$DESTDIR" ]; then
	if [ -f "/etc/systemd/system/$NAME.service" ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now "$NAME" || true
	fi
	if [ -f "/etc/init.d/$NAME" ] && command -v rc-update >/dev/null 2>&1; then
		rc-service "$NAME" stop || true
		rc-update del "$NAME" default || true
	fi
	if [ -x "/etc/init.d/S95$NAME" ]; then
		"/etc/init.d/S95$NAME" stop || true
	fi
fi
rm -f "$ROOT/etc/systemd/system/$NAME.service" "$ROOT/etc/init.d/$NAME" "$ROOT/etc/init.d/S95$NAME"
if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi

# -- the program ----------------------------------------------------------------------------
rm -rf "$ROOT$PREFIX/lib/$NAME" "$ROOT$PREFIX/share/$NAME"
rm -f "$ROOT$PREFIX/bin/$NAME"

# -- config, data and user (only with --purge) ----------------------------------------------
drop_line() { # remove the entry for $AGENT_USER from the colon file $1
	[ -f "$1" ] || return 0
	grep -v "^$AGENT_USER:" "$1" > "$1.tmp.$$" || true
	cat "$1.tmp.$$" > "$1"
	rm -f "$1.tmp.$$"
	# A staging root's file that only ever held our entry goes too.
	if [ -n "$DESTDIR" ] && [ ! -s "$1" ]; then rm -f "$1"; fi
}
if [ "$PURGE" = yes ]; then
	rm -f "$ROOT$CONF"
	rm -rf "$ROOT$DATADIR"
	if [ -n "$DESTDIR" ]; then
		drop_line "$ROOT/etc/passwd"
		drop_line "$ROOT/etc/shadow"
		drop_line "$ROOT/etc/group"
	elif id "$AGENT_USER" >/dev/null 2>&1; then
		if command -v userdel >/dev/null 2>&1; then
			userdel "$AGENT_USER" || true
			groupdel "$AGENT_USER" 2>/dev/null || true
		else
			deluser "$AGENT_USER" || true
			delgroup "$AGENT_USER" 2>/dev/null || true
		fi
	fi
	say "removed everything, including $CONF and $DATADIR"
else
	say "removed the agent; kept $CONF and $DATADIR (use --purge to remove them too)"
fi

# In a staging root, also drop the folders the install created and left empty.
if [ -n "$DESTDIR" ]; then
	for dir in "$PREFIX/lib" "$PREFIX/share" "$PREFIX/bin" "$PREFIX" /etc/systemd/system \
		/etc/systemd /etc/init.d /var/lib /var /etc; do
		rmdir "$ROOT$dir" 2>/dev/null || true
	done
fi
