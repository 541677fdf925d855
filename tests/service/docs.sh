#!/bin/bash
# The man pages render without warnings, staffsync.yaml(5) names every key
# the configuration parsers know (the key tables of the core and of each
# plugin), and the bash completion completes staffsyncctl's commands.
. "$(dirname "$0")/../integration/lib.sh"
status=0
man5=$top_srcdir/contrib/man/staffsync.yaml.5
if command -v groff >/dev/null 2>&1; then
	for m in staffsyncd.8 staffsyncctl.8 staffsync.yaml.5; do
		w=$(groff -man -Tutf8 -ww -z "$top_srcdir/contrib/man/$m" 2>&1)
		if [ -z "$w" ]; then echo "ok: $m renders cleanly"; else echo "FAIL: $m: $w"; status=1; fi
	done
else
	echo "# groff is missing: the rendering is not checked"
fi
keys=$(cat "$top_srcdir"/daemon/config.c "$top_srcdir"/plugins/*/*.c |
	grep -oE '^[[:space:]]*(\{ |K\()"[a-z_0-9]+", SS_CONF_[A-Z_]+' | grep -v SS_CONF_SKIP |
	grep -oE '"[a-z_0-9]+"' | tr -d '"' | sort -u)
[ -n "$keys" ] || hard_error "no configuration key found in the sources"
n=0
for k in $keys; do
	n=$((n + 1))
	grep -qE "(^\.B[IR]? +([a-z_]+\.)*$k\b|\\\\fB$k\\\\f|^\.BR? .*\b$k\b)" "$man5" ||
		{ echo "FAIL: staffsync.yaml(5) does not describe the key '$k'"; status=1; }
done
echo "# $n configuration keys checked against staffsync.yaml(5)"
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '. /usr/share/bash-completion/bash_completion
		. "$1"
		complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_staffsyncctl staffsyncctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"; echo "${COMPREPLY[*]}"; }
		complete_words staffsyncctl ""
		complete_words staffsyncctl -c x.yaml h
		complete_words staffsyncctl run ""' _ "$top_srcdir/contrib/completion/staffsyncctl")
	expected=$'status history run plan explain approve retry\nhistory\n--full'
	if [ "$got" = "$expected" ]; then echo "ok: bash completion"; else echo "FAIL: bash completion gave: $got"; status=1; fi
else
	echo "# bash-completion is not installed: the completion is not checked"
fi
exit $status
