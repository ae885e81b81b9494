#!/bin/sh
# Prints the other names a section 3 page answers to: every function and
# macro its NAME line lists or its SYNOPSIS declares, less the page's own
# name. make install-lib makes each one a ".so" page pointing at it, so
# that "man cnbd_client_pread" finds cnbd_client(3).
#   usage: aliases.sh PAGE.3
page=$1
base=$(basename "$page" .3)
{
	sed -n '/^\.SH NAME/,/\\-/p' "$page" | sed '1d; s/\\-.*//' | tr ', ' '\n\n'
	sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$page" |
		grep -o '\(cnbd_[a-z0-9_]*\|CNBD_[A-Z_]*\)(' | tr -d '('
} | grep . | grep -vx "$base" | sort -u
