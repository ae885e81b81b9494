/* SPDX-License-Identifier: MIT */
/*
 * Kernel TLS keys from a real GnuTLS session (lib/common/ktls.c), the
 * daemon's relay (lib/attach/tls_relay.c) and the server engine's
 * connection I/O under kernel TLS (lib/common/conn_io.c). Both ends of
 * each session run in this process, the server's handshake on a thread,
 * with a throwaway
 * self-signed ECDSA certificate made here (a TLS 1.3 PSK would be bound
 * to SHA-256 and rule out AES-256-GCM) and a priority string that forces
 * the version and cipher.
 *
 * - What ktls_crypto_info() builds for the client's sending side must be
 *   what the *server's* GnuTLS reports for its receiving side (key, salt
 *   and IV, sequence number), and the other way round: an independent
 *   check of the key/IV split, for TLS 1.3 AES-GCM-128/256, ChaCha20-
 *   Poly1305 and TLS 1.2 AES-GCM-128. A cipher kernel TLS lacks (AES-CCM)
 *   is refused by name.
 * - Where the kernel has the tls module (loaded with modprobe if we can),
 *   the keys go into a TCP socket and records cross both ways between the
 *   kernel and GnuTLS. A kernel without it (this project's CI host runs
 *   one) is said so and that part is not run; with CNBD_KTLS_REQUIRED=1
 *   (the kernel VM case ktls_unit) it is a failure instead.
 * - There, a TLS 1.3 KeyUpdate or an alert from the peer makes the kernel
 *   socket's read fail: what marks an nbd connection dead.
 * - The relay carries bytes both ways (4 MiB each way at once from four
 *   threads, every byte checked), follows a KeyUpdate, and a
 *   server's close reaches the kernel's end as EOF.
 * - A worker's connection handed to kernel TLS reads, writes and
 *   sendfile()s plaintext that its GnuTLS peer sees decrypted, for
 *   three of the ciphers; close_notify ends its stream, a KeyUpdate or
 *   an alert ends it with an error, and its close says close_notify.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/x509.h>

#include "attach/tls_relay.h"
#include "common/conn_io.h"
#include "common/ktls.h"

struct pair {
	gnutls_session_t client, server;
	int cfd, sfd;
	int server_rc;
};

/* One server certificate for every session (the client checks nothing:
 * what is under test is the record layer, not authentication). */
static gnutls_certificate_credentials_t server_cred, client_cred;

static void make_credentials(void)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	unsigned char serial = 1;
	time_t now = time(NULL);

	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
		GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, &serial, 1);
	gnutls_x509_crt_set_activation_time(crt, now - 60);
	gnutls_x509_crt_set_expiration_time(crt, now + 3600);
	gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "test", 4);
	gnutls_x509_crt_set_key(crt, key);
	assert_int_equal(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&server_cred), 0);
	assert_int_equal(gnutls_certificate_set_x509_key(server_cred, &crt, 1, key), 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&client_cred), 0);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

static void *server_handshake(void *arg)
{
	struct pair *p = arg;
	int rc;

	do {
		rc = gnutls_handshake(p->server);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	p->server_rc = rc;
	if (rc < 0)
		shutdown(p->sfd, SHUT_RDWR);	/* or the client waits forever */
	return NULL;
}

static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(*a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*b = accept(l, NULL, NULL);
	assert_true(*b >= 0);
	close(l);
}

/* A handshake with priority prio, then one application record each way,
 * so that sequence numbers are past their start and the client has read
 * whatever the server sent after its Finished (TLS 1.3 tickets). */
static void pair_open(struct pair *p, const char *prio, bool tcp)
{
	pthread_t t;
	char buf[16];
	int sv[2], rc;

	memset(p, 0, sizeof(*p));
	if (tcp)
		tcp_pair(&sv[0], &sv[1]);
	else
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->cfd = sv[0];
	p->sfd = sv[1];
	if (!server_cred)
		make_credentials();
	assert_int_equal(gnutls_init(&p->client, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_init(&p->server, GNUTLS_SERVER), 0);
	assert_int_equal(gnutls_priority_set_direct(p->client, prio, NULL), 0);
	assert_int_equal(gnutls_priority_set_direct(p->server, prio, NULL), 0);
	gnutls_credentials_set(p->client, GNUTLS_CRD_CERTIFICATE, client_cred);
	gnutls_credentials_set(p->server, GNUTLS_CRD_CERTIFICATE, server_cred);
	gnutls_transport_set_int(p->client, p->cfd);
	gnutls_transport_set_int(p->server, p->sfd);
	assert_int_equal(pthread_create(&t, NULL, server_handshake, p), 0);
	do {
		rc = gnutls_handshake(p->client);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	pthread_join(t, NULL);
	if (rc < 0 || p->server_rc < 0)
		fail_msg("handshake with '%s': client %s, server %s", prio,
			 gnutls_strerror(rc), gnutls_strerror(p->server_rc));
	assert_int_equal(gnutls_record_send(p->server, "hello", 5), 5);
	assert_int_equal(gnutls_record_recv(p->client, buf, sizeof(buf)), 5);
	assert_int_equal(gnutls_record_send(p->client, "ping", 4), 4);
	assert_int_equal(gnutls_record_recv(p->server, buf, sizeof(buf)), 4);
	assert_int_equal(gnutls_record_check_pending(p->client), 0);
}

static void pair_close(struct pair *p)
{
	if (p->client)
		gnutls_deinit(p->client);
	gnutls_deinit(p->server);
	if (p->cfd >= 0)
		close(p->cfd);
	close(p->sfd);
}

struct peer_state {
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
};

/* The side of ci (one direction of the client) checked against what the
 * server reports for the same direction. */
static void check_against(const union ktls_crypto_info *ci, gnutls_session_t server,
			  bool server_read, bool tls13)
{
	struct peer_state st;
	const unsigned char *key, *salt = NULL, *iv, *seq;
	unsigned keylen;

	assert_int_equal(gnutls_record_get_state(server, server_read, &st.mac, &st.iv,
						 &st.key, st.seq), 0);
	assert_int_equal(ci->info.version, tls13 ? TLS_1_3_VERSION : TLS_1_2_VERSION);
	switch (ci->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		key = ci->gcm128.key, keylen = 16, salt = ci->gcm128.salt;
		iv = ci->gcm128.iv, seq = ci->gcm128.rec_seq;
		break;
	case TLS_CIPHER_AES_GCM_256:
		key = ci->gcm256.key, keylen = 32, salt = ci->gcm256.salt;
		iv = ci->gcm256.iv, seq = ci->gcm256.rec_seq;
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		key = ci->chacha.key, keylen = 32;
		iv = ci->chacha.iv, seq = ci->chacha.rec_seq;
		break;
	default:
		fail_msg("cipher type %u", ci->info.cipher_type);
		return;
	}
	assert_int_equal(st.key.size, keylen);
	assert_memory_equal(key, st.key.data, keylen);
	assert_memory_equal(seq, st.seq, 8);
	if (!salt) {
		assert_int_equal(st.iv.size, 12);
		assert_memory_equal(iv, st.iv.data, 12);
	} else if (tls13) {
		assert_int_equal(st.iv.size, 12);
		assert_memory_equal(salt, st.iv.data, 4);
		assert_memory_equal(iv, st.iv.data + 4, 8);
	} else {
		/* TLS 1.2 GCM: the 4-byte implicit salt; the explicit nonce
		 * is the sequence number. */
		assert_int_equal(st.iv.size, 4);
		assert_memory_equal(salt, st.iv.data, 4);
		assert_memory_equal(iv, st.seq, 8);
	}
}

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static const unsigned char *rec_seq(const union ktls_crypto_info *ci)
{
	switch (ci->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128: return ci->gcm128.rec_seq;
	case TLS_CIPHER_AES_GCM_256: return ci->gcm256.rec_seq;
	default: return ci->chacha.rec_seq;
	}
}

struct suite {
	const char *prio;
	unsigned cipher_type;
	bool tls13;
	uint64_t client_tx_seq;	/* records the client has sent encrypted */
};

#define KX	""
static const struct suite suites[] = {
	{ "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM" KX,
	  TLS_CIPHER_AES_GCM_128, true, 1 },
	{ "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-256-GCM" KX,
	  TLS_CIPHER_AES_GCM_256, true, 1 },
	{ "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305" KX,
	  TLS_CIPHER_CHACHA20_POLY1305, true, 1 },
	/* 1.2: the client's Finished was record 0 of the epoch, "ping" 1 */
	{ "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM" KX,
	  TLS_CIPHER_AES_GCM_128, false, 2 },
	{ "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM" KX,
	  TLS_CIPHER_AES_GCM_256, false, 2 },
};

static void test_crypto_info(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		const struct suite *su = &suites[i];
		union ktls_crypto_info tx, rx;
		size_t txlen, rxlen;
		struct pair p;
		char err[256];

		pair_open(&p, su->prio, false);
		assert_int_equal(ktls_crypto_info(p.client, false, &tx, &txlen, err, sizeof(err)), 0);
		assert_int_equal(ktls_crypto_info(p.client, true, &rx, &rxlen, err, sizeof(err)), 0);
		assert_int_equal(tx.info.cipher_type, su->cipher_type);
		assert_int_equal(rx.info.cipher_type, su->cipher_type);
		assert_int_equal(txlen, su->cipher_type == TLS_CIPHER_AES_GCM_128 ?
			sizeof(tx.gcm128) : su->cipher_type == TLS_CIPHER_AES_GCM_256 ?
			sizeof(tx.gcm256) : sizeof(tx.chacha));
		assert_int_equal(rxlen, txlen);
		/* What we send, the server reads; what it sends, we read. */
		check_against(&tx, p.server, true, su->tls13);
		check_against(&rx, p.server, false, su->tls13);
		assert_int_equal(be64(rec_seq(&tx)), su->client_tx_seq);
		printf("# %s: client sends record %llu next, receives record %llu next\n",
		       gnutls_cipher_get_name(gnutls_cipher_get(p.client)),
		       (unsigned long long)be64(rec_seq(&tx)),
		       (unsigned long long)be64(rec_seq(&rx)));
		pair_close(&p);
	}
}

static void test_refusals(void **state)
{
	union ktls_crypto_info ci;
	struct pair p;
	char err[256];
	size_t len;
	bool touched = true;

	(void)state;
	pair_open(&p, "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM" KX, false);
	assert_int_equal(ktls_crypto_info(p.client, false, &ci, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "the server chose AES-128-CCM, which kernel TLS does not do"));
	/* Refused before the socket is touched: the session is still usable
	 * (the relay takes it). */
	assert_int_equal(ktls_install(p.client, p.cfd, &touched, err, sizeof(err)), -1);
	assert_false(touched);
	pair_close(&p);

	/* Decrypted bytes GnuTLS holds would be lost to the kernel. */
	pair_open(&p, suites[0].prio, false);
	assert_int_equal(gnutls_record_send(p.server, "early", 5), 5);
	{
		char one;

		assert_int_equal(gnutls_record_recv(p.client, &one, 1), 1);
	}
	assert_int_equal(ktls_install(p.client, p.cfd, &touched, err, sizeof(err)), -1);
	assert_false(touched);
	assert_non_null(strstr(err, "the peer sent 4 bytes that GnuTLS has decrypted"));
	pair_close(&p);
}

static bool kernel_has_tls(void)
{
	int a, b, rc;

	if (geteuid() == 0 && system("modprobe tls 2>/dev/null") != 0)
		printf("# modprobe tls failed\n");
	tcp_pair(&a, &b);
	rc = setsockopt(a, SOL_TCP, TCP_ULP, "tls", sizeof("tls"));
	close(a);
	close(b);
	return rc == 0;
}

/* Where the kernel has no tls module a kernel part is said and not run,
 * unless CNBD_KTLS_REQUIRED=1 (the VM case ktls_unit) makes it a failure. */
static bool kernel_tls_here(const char *what)
{
	const char *req = getenv("CNBD_KTLS_REQUIRED");

	if (kernel_has_tls())
		return true;
	if (req && !strcmp(req, "1"))
		fail_msg("CNBD_KTLS_REQUIRED=1, but TCP_ULP \"tls\" is refused: %s", strerror(errno));
	printf("# this kernel has no tls module: %s is not run here "
	       "(tests/kernel/cases/ktls_unit.sh runs it)\n", what);
	return false;
}

static void read_full(int fd, void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = read(fd, (char *)buf + off, len - off);

		assert_true(n > 0);
		off += n;
	}
}

static void tls_read_full(gnutls_session_t s, void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = gnutls_record_recv(s, (char *)buf + off, len - off);

		/* AGAIN: a post-handshake message (KeyUpdate) was handled */
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n < 0)
			fail_msg("server: %s", gnutls_strerror(n));
		assert_true(n > 0);
		off += n;
	}
}

static void test_kernel_exchange(void **state)
{
	static unsigned char out[100000], in[100000];

	(void)state;
	if (!kernel_tls_here("the kernel TLS exchange"))
		return;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		struct pair p;
		char err[256];
		bool touched;

		pair_open(&p, suites[i].prio, true);
		if (ktls_install(p.client, p.cfd, &touched, err, sizeof(err)) < 0)
			fail_msg("%s: %s", suites[i].prio, err);
		assert_true(touched);
		/* The kernel encrypts what we write; GnuTLS decrypts it. */
		for (int round = 0; round < 3; round++) {
			assert_int_equal(write(p.cfd, out, sizeof(out)), (ssize_t)sizeof(out));
			tls_read_full(p.server, in, sizeof(in));
			assert_memory_equal(in, out, sizeof(out));
			/* GnuTLS encrypts; the kernel decrypts for read(). */
			for (size_t off = 0; off < sizeof(out); off += 16384) {
				size_t n = sizeof(out) - off < 16384 ? sizeof(out) - off : 16384;

				assert_int_equal(gnutls_record_send(p.server, out + off, n),
						 (ssize_t)n);
			}
			memset(in, 0, sizeof(in));
			read_full(p.cfd, in, sizeof(in));
			assert_memory_equal(in, out, sizeof(out));
		}
		printf("# kernel TLS %s: 3 x %zu bytes each way\n",
		       gnutls_cipher_get_name(gnutls_cipher_get(p.client)), sizeof(out));
		pair_close(&p);
	}
}

/*
 * What the kernel does with records that are not application data, which
 * is what the daemon relies on for "the connection is dead": a TLS 1.3
 * KeyUpdate and an alert from the peer make read() on a kernel TLS socket
 * fail (nbd.ko then marks the connection dead), instead of handing the
 * driver garbage or hanging.
 */
static void test_kernel_control_records(void **state)
{
	static const char *what[] = { "a KeyUpdate", "an alert" };

	(void)state;
	if (!kernel_tls_here("the control records test"))
		return;
	for (int i = 0; i < 2; i++) {
		struct pair p;
		char err[256], buf[64];
		bool touched;
		ssize_t n;

		pair_open(&p, suites[0].prio, true);
		assert_int_equal(ktls_install(p.client, p.cfd, &touched, err, sizeof(err)), 0);
		assert_int_equal(gnutls_record_send(p.server, "before", 6), 6);
		read_full(p.cfd, buf, 6);
		assert_memory_equal(buf, "before", 6);
		if (i == 0)
			assert_int_equal(gnutls_session_key_update(p.server, 0), 0);
		else
			assert_int_equal(gnutls_alert_send(p.server, GNUTLS_AL_FATAL,
							   GNUTLS_A_INTERNAL_ERROR), 0);
		gnutls_record_send(p.server, "after", 5);
		n = read(p.cfd, buf, sizeof(buf));
		printf("# kernel TLS read after %s: %zd (%s)\n", what[i], n,
		       n < 0 ? strerror(errno) : "data");
		assert_true(n < 0);
		pair_close(&p);
	}
}

/* Both directions at once, as nbd.ko drives a connection: 4 MiB each way
 * from four threads (kernel side writing and reading, server side
 * sending and receiving), every byte checked. */
#define STRESS	(4 << 20)
struct stress {
	struct pair *p;
	int local;
	unsigned char *up, *down, *got_up, *got_down;
};

static void *stress_kernel_write(void *arg)
{
	struct stress *st = arg;

	for (size_t off = 0; off < STRESS;) {
		ssize_t n = write(st->local, st->up + off, STRESS - off < 200000 ? STRESS - off : 200000);

		if (n <= 0)
			return (void *)1;
		off += n;
	}
	return NULL;
}

static void *stress_kernel_read(void *arg)
{
	struct stress *st = arg;

	read_full(st->local, st->got_down, STRESS);
	return NULL;
}

static void *stress_server_recv(void *arg)
{
	struct stress *st = arg;

	tls_read_full(st->p->server, st->got_up, STRESS);
	return NULL;
}

static void relay_stress(struct pair *p, int local)
{
	struct stress st = { .p = p, .local = local };
	pthread_t t[3];
	void *rc;

	st.up = malloc(STRESS);
	st.down = malloc(STRESS);
	st.got_up = malloc(STRESS);
	st.got_down = malloc(STRESS);
	assert_non_null(st.up && st.down && st.got_up && st.got_down);
	for (size_t i = 0; i < STRESS; i++) {
		st.up[i] = (unsigned char)(i * 31 + i / 4093);
		st.down[i] = (unsigned char)(i * 17 + i / 8191 + 5);
	}
	assert_int_equal(pthread_create(&t[0], NULL, stress_kernel_write, &st), 0);
	assert_int_equal(pthread_create(&t[1], NULL, stress_kernel_read, &st), 0);
	assert_int_equal(pthread_create(&t[2], NULL, stress_server_recv, &st), 0);
	for (size_t off = 0; off < STRESS; off += 16384)
		assert_int_equal(gnutls_record_send(p->server, st.down + off, 16384), 16384);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	assert_memory_equal(st.got_up, st.up, STRESS);
	assert_memory_equal(st.got_down, st.down, STRESS);
	free(st.up);
	free(st.down);
	free(st.got_up);
	free(st.got_down);
}

static void test_relay(void **state)
{
	static unsigned char out[300000], in[300000];
	struct pair p;
	char err[256];
	int local;

	(void)state;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 13 + i / 509);
	pair_open(&p, suites[1].prio, true);
	local = tls_relay_start("test", p.client, NULL, p.cfd, err, sizeof(err));
	assert_true(local >= 0);
	p.client = NULL;		/* the relay's now */
	p.cfd = -1;
	assert_int_equal(write(local, out, sizeof(out)), (ssize_t)sizeof(out));
	tls_read_full(p.server, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	for (size_t off = 0; off < sizeof(out); off += 16384) {
		size_t n = sizeof(out) - off < 16384 ? sizeof(out) - off : 16384;

		assert_int_equal(gnutls_record_send(p.server, out + off, n), (ssize_t)n);
	}
	memset(in, 0, sizeof(in));
	read_full(local, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	relay_stress(&p, local);
	/* GnuTLS follows a KeyUpdate: the relay goes on, both ways. */
	assert_int_equal(gnutls_session_key_update(p.server, GNUTLS_KU_PEER), 0);
	assert_int_equal(gnutls_record_send(p.server, "after-ku", 8), 8);
	read_full(local, in, 8);
	assert_memory_equal(in, "after-ku", 8);
	assert_int_equal(write(local, "up-ku", 5), 5);
	tls_read_full(p.server, in, 5);
	assert_memory_equal(in, "up-ku", 5);
	/* The server ends the session: the kernel's end reads EOF. */
	gnutls_bye(p.server, GNUTLS_SHUT_WR);
	{
		char c;

		assert_int_equal(read(local, &c, 1), 0);
	}
	close(local);
	pair_close(&p);
}

/* The worker's half (lib/conn_io.c): the engine's connection handed to
 * kernel TLS after its handshake, then plain reads, a corked writev and
 * a sendfile from a memfd (the zero-copy read path) both ways against a
 * GnuTLS peer; the peer's close_notify reads as the end of the stream,
 * a KeyUpdate or an alert as an error that names it; conn_close sends
 * the peer a close_notify. */
static void conn_ending(struct conn_io *io, struct pair *p, int how)
{
	static const char *what[] = { "close_notify", "a KeyUpdate", "an alert" };
	char buf[64];
	ssize_t n;

	if (how == 0)
		assert_int_equal(gnutls_bye(p->server, GNUTLS_SHUT_WR), 0);
	else if (how == 1)
		assert_int_equal(gnutls_session_key_update(p->server, 0), 0);
	else
		assert_int_equal(gnutls_alert_send(p->server, GNUTLS_AL_FATAL,
						   GNUTLS_A_INTERNAL_ERROR), 0);
	if (how)
		gnutls_record_send(p->server, "after", 5);
	n = conn_read_some(io, buf, sizeof(buf));
	printf("# conn_io under kernel TLS, after %s: %zd (%s)\n", what[how], n,
	       n < 0 ? strerror(errno) : n ? "data" : "end of stream");
	assert_int_equal(n, how == 0 ? 0 : -1);
	if (how)
		assert_int_equal(errno, how == 1 ? EPROTO : ECONNRESET);
}

static void test_conn_kernel_tls(void **state)
{
	static unsigned char out[200000], in[200000];
	unsigned char hdr[16] = "reply-header-16b";

	(void)state;
	if (!kernel_tls_here("the engine's connection under kernel TLS"))
		return;
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 11 + i / 307);
	for (int how = 0; how < 3; how++) {
		struct iovec iov[2] = { { hdr, sizeof(hdr) }, { out, 1000 } };
		int memfd = memfd_create("test_ktls", MFD_CLOEXEC);
		struct pair p;
		struct conn_io io;
		char why[256];

		assert_true(memfd >= 0);
		assert_int_equal(write(memfd, out, sizeof(out)), (ssize_t)sizeof(out));
		pair_open(&p, suites[how].prio, true);
		io = (struct conn_io){ .fd = p.cfd, .tls = p.client };
		if (conn_kernel_tls(&io, why, sizeof(why)) != 0)
			fail_msg("%s: %s", suites[how].prio, why);
		p.client = NULL;		/* given to the kernel */
		assert_true(conn_tls(&io) && !io.tls);
		for (size_t off = 0; off < sizeof(out); off += 16384) {
			size_t n = sizeof(out) - off < 16384 ? sizeof(out) - off : 16384;

			assert_int_equal(gnutls_record_send(p.server, out + off, n), (ssize_t)n);
		}
		assert_int_equal(conn_read_full(&io, in, sizeof(in)), 0);
		assert_memory_equal(in, out, sizeof(out));
		assert_int_equal(conn_writev(&io, iov, 2, true), 0);
		assert_int_equal(conn_sendfile(&io, memfd, 4096, 150000), 0);
		tls_read_full(p.server, in, sizeof(hdr) + 1000 + 150000);
		assert_memory_equal(in, hdr, sizeof(hdr));
		assert_memory_equal(in + sizeof(hdr), out, 1000);
		assert_memory_equal(in + sizeof(hdr) + 1000, out + 4096, 150000);
		conn_ending(&io, &p, how);
		conn_close(&io);
		p.cfd = -1;
		if (how < 2)
			assert_int_equal(gnutls_record_recv(p.server, in, sizeof(in)), 0);
		close(memfd);
		pair_close(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto_info),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_kernel_exchange),
		cmocka_unit_test(test_kernel_control_records),
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_conn_kernel_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
