#!/bin/bash
# LIST_META_CONTEXT and SET_META_CONTEXT in plaintext must not tell a
# hidden (tls = require) export from one that does not exist: with
# tls = on and export 'secret' TLS-only, every meta context reply for
# 'secret' is byte for byte the reply for 'absent' (a name of the same
# length, swapped for the comparison). Over TLS, 'secret' has its
# base:allocation context.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tls_keys.sh"
. "$(dirname "$0")/server_tls_lib.sh"

need nbdinfo /usr/bin/python3
tls_setup

port=$(free_port)
conf=$tmp/server.conf
tls_config "$conf" "$port" tls=on "tls-certificates=$tmp/tls/pki"
add_export "$conf" secret backend=memory size=4M tls=require
add_export "$conf" open backend=memory size=4M
start_server "$conf"

raw_check "$port" "
import struct

def meta_data(name, queries):
    n = name.encode()
    out = struct.pack('>I', len(n)) + n + struct.pack('>I', len(queries))
    for q in queries:
        out += struct.pack('>I', len(q)) + q.encode()
    return out

def raw_replies(c, option):
    '''Every reply to option, header and all, until ACK or an error.'''
    out = []
    while True:
        hdr = c.recv_exact(20)
        magic, opt, rtype, length = struct.unpack('>QIII', hdr)
        assert magic == REP_MAGIC and opt == option, 'reply %r' % hdr
        out.append(hdr + c.recv_exact(length))
        if rtype == REP_ACK or rtype & REP_FLAG_ERROR:
            return b''.join(out), rtype

def ask(name, option, queries):
    c = connect_tcp(port)
    c.handshake()
    c.send_option(OPT_STRUCTURED_REPLY)
    assert c.replies_until_final(OPT_STRUCTURED_REPLY)[-1].type == REP_ACK
    c.send_option(option, meta_data(name, queries))
    data, rtype = raw_replies(c, option)
    c.send_option(OPT_ABORT)
    c.close()
    return data, rtype

cases = [(OPT_LIST_META_CONTEXT, []), (OPT_LIST_META_CONTEXT, ['base:']),
         (OPT_LIST_META_CONTEXT, ['base:allocation']),
         (OPT_SET_META_CONTEXT, ['base:allocation']), (OPT_SET_META_CONTEXT, [])]
for option, queries in cases:
    hidden, htype = ask('secret', option, queries)
    unknown, utype = ask('absent', option, queries)
    assert utype == REP_ERR_UNKNOWN, 'absent: %#x' % utype
    if hidden.replace(b'secret', b'absent') != unknown:
        raise SystemExit('option %d %r: the hidden export answers\n  %r\nand an unknown one\n  %r'
                         % (option, queries, hidden, unknown))
    # The neighbour served in plaintext still has its context.
    opened, otype = ask('open', option, queries)
    assert otype == REP_ACK, 'open: %#x' % otype
"
nbdinfo --json "$(x509_uri "$port" secret)" >"$tmp/secret.json" ||
	fail "nbdinfo over TLS on 'secret' failed"
grep -q '"base:allocation"' "$tmp/secret.json" ||
	fail "over TLS 'secret' has no base:allocation context: $(cat "$tmp/secret.json")"
server_alive
log "ok: in plaintext, meta context options answer a hidden export exactly as an unknown one"
