/* SPDX-License-Identifier: MIT */
/*
 * Escaping for log lines. A client chooses export names, meta context
 * queries and PSK identities; printed as they are, a newline in one
 * starts a log line of the client's own making, and an ESC sequence
 * reaches whoever reads the log on a terminal. So every string a peer
 * supplied goes through log_escape() before it is logged.
 *
 * The form is reversible and ASCII-only: printable ASCII stays, a
 * newline is \n, every other byte (the backslash too, so that a literal
 * "\n" in a name cannot pass for an escaped newline) is \xNN. Output is
 * bounded: what does not fit ends in "..." .
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define MORE	"..."

static bool plain(unsigned char c, bool strict)
{
	if (c >= 0x20 && c < 0x7f)
		return !strict || c != '\\';
	/* The whole-line pass keeps UTF-8 (and so any byte from 0x80 up)
	 * and tabs; the callers' pass has escaped peers' strings already. */
	return !strict && (c >= 0x80 || c == '\t');
}

/* One byte's form in piece[]; its length. */
static size_t encode(unsigned char c, bool strict, char piece[5])
{
	if (plain(c, strict)) {
		piece[0] = c;
		return 1;
	}
	if (c == '\n') {
		memcpy(piece, "\\n", 2);
		return 2;
	}
	snprintf(piece, 5, "\\x%02x", c);
	return 4;
}

static const char *escape(const char *in, char *out, size_t outlen, bool strict)
{
	size_t n = 0, whole = 0;
	char piece[5];

	if (!outlen)
		return "";
	in = in ? in : "";
	for (const char *p = in; *p; p++)
		whole += encode((unsigned char)*p, strict, piece);
	for (const char *p = in; *p; p++) {
		size_t len = encode((unsigned char)*p, strict, piece);

		/* Cut short: keep room for the marker. */
		if (whole >= outlen && n + len + sizeof(MORE) - 1 >= outlen) {
			if (n + sizeof(MORE) - 1 < outlen) {
				memcpy(out + n, MORE, sizeof(MORE) - 1);
				n += sizeof(MORE) - 1;
			}
			break;
		}
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = '\0';
	return out;
}

const char *log_escape(const char *in, char *out, size_t outlen)
{
	return escape(in, out, outlen, true);
}

const char *log_escape_line(const char *in, char *out, size_t outlen)
{
	return escape(in, out, outlen, false);
}
