/* tls_pki.c: loading a program's CA, certificate and key from the PKI directory (GnuTLS),
 * and reading what a certificate grants. */
#include "tls_pki.h"

#include <dirent.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

#define EXPIRY_WARN_DAYS 30

struct tls_pki {
	gnutls_certificate_credentials_t cred;
	struct tls_pki_id self;
	char dir[TLS_PKI_PATH_MAX];
};

static const char *const kind_names[] = {"none", "controld", "pmon", "mmon", "smon", "admin"};

const char *tls_pki_kind_name(int kind)
{
	return kind >= 0 && kind <= TLS_KIND_MAX ? kind_names[kind] : "unknown";
}

int tls_pki_kind_parse(const char *text)
{
	for (int k = 1; k <= TLS_KIND_MAX; k++)
		if (!strcmp(text, kind_names[k]))
			return k;
	return -1;
}

bool tls_pki_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TLS_PKI_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "abcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") != n)
		return false;
	/* KIND-NAME-key.pem is a key: a name ending so would make its certificate look like
	 * one. */
	return n < 4 || strcmp(name + n - 4, "-key");
}

const char *tls_pki_dir(const char *opt)
{
	const char *env = getenv("LEGO_PKI");

	if (opt && *opt)
		return opt;
	return env && *env ? env : TLS_PKI_DEFAULT_DIR;
}

int tls_pki_path(char *out, size_t len, const char *dir, int kind, const char *name, bool key)
{
	int n = snprintf(out, len, "%s/%s-%s%s.pem", dir, tls_pki_kind_name(kind), name,
			 key ? "-key" : "");

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The name of the only KIND-NAME.pem in dir: 0, or -1 with err. */
static int only_name(const char *dir, int kind, char *name, char *err, size_t errlen)
{
	const char *k = tls_pki_kind_name(kind);
	size_t klen = strlen(k);
	char other[TLS_PKI_NAME_MAX + 1] = "";
	struct dirent *e;
	int found = 0;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(err, errlen, "cannot read the PKI directory %s: %m", dir);
		return -1;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char cand[TLS_PKI_NAME_MAX + 1];

		if (n <= klen + 1 + 4 || strncmp(e->d_name, k, klen) || e->d_name[klen] != '-' ||
		    strcmp(e->d_name + n - 4, ".pem") ||
		    (n > 8 && !strcmp(e->d_name + n - 8, "-key.pem")))
			continue;
		if (n - klen - 1 - 4 > TLS_PKI_NAME_MAX)
			continue;
		memcpy(cand, e->d_name + klen + 1, n - klen - 1 - 4);
		cand[n - klen - 1 - 4] = '\0';
		if (!tls_pki_name_ok(cand))
			continue;
		if (found++)
			snprintf(other, sizeof(other), "%s", cand);
		else
			snprintf(name, TLS_PKI_NAME_MAX + 1, "%s", cand);
	}
	closedir(d);
	if (found == 1)
		return 0;
	if (found == 0)
		snprintf(err, errlen,
			 "no %s certificate in %s (create one with 'legoctl pki issue %s %s NAME')",
			 k, dir, dir, k);
	else
		snprintf(err, errlen,
			 "%d %s certificates in %s (%s, %s, ...): say which with --name", found, k,
			 dir, name, other);
	return -1;
}

int tls_pki_id_of(void *crt, struct tls_pki_id *id, char *err, size_t errlen)
{
	char ou[32], cn[TLS_PKI_NAME_MAX + 2];
	size_t oulen = sizeof(ou), cnlen = sizeof(cn);

	*id = (struct tls_pki_id){0};
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0, 0, ou,
					  &oulen) < 0 ||
	    tls_pki_kind_parse(ou) < 0) {
		snprintf(err, errlen, "the certificate's subject has no lego kind (OU)");
		return -1;
	}
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) < 0 ||
	    !tls_pki_name_ok(cn)) {
		snprintf(err, errlen, "the certificate's subject has no valid name (CN)");
		return -1;
	}
	id->kind = tls_pki_kind_parse(ou);
	memcpy(id->name, cn, strlen(cn) + 1); /* tls_pki_name_ok: it fits */
	return 0;
}

const char *tls_pki_id_text(const struct tls_pki_id *id, char *out, size_t len)
{
	if (id->kind == TLS_KIND_NONE)
		snprintf(out, len, "no certificate");
	else
		snprintf(out, len, "%s '%s'", tls_pki_kind_name(id->kind), id->name);
	return out;
}

static int load_crt(gnutls_x509_crt_t *crt, const char *path, char *err, size_t errlen)
{
	gnutls_datum_t d = {0};
	int rc = gnutls_load_file(path, &d);

	if (rc >= 0 && (rc = gnutls_x509_crt_init(crt)) >= 0) {
		rc = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM);
		if (rc < 0)
			gnutls_x509_crt_deinit(*crt);
	}
	gnutls_free(d.data);
	if (rc < 0)
		snprintf(err, errlen, "cannot read the certificate %s: %s", path,
			 gnutls_strerror(rc));
	return rc < 0 ? -1 : 0;
}

/* Our certificate: signed by the CA, valid now, granting kind and name. */
static int check_own(struct tls_pki *p, const char *ca_path, const char *crt_path, int kind,
		     char *err, size_t errlen)
{
	gnutls_x509_crt_t ca, crt;
	struct tls_pki_id id;
	unsigned status = 0;
	time_t now = time(NULL), exp;
	int rc = -1;

	if (load_crt(&ca, ca_path, err, errlen))
		return -1;
	if (load_crt(&crt, crt_path, err, errlen)) {
		gnutls_x509_crt_deinit(ca);
		return -1;
	}
	exp = gnutls_x509_crt_get_expiration_time(crt);
	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status) {
		gnutls_datum_t why = {0};

		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		snprintf(err, errlen, "%s is not valid under %s: %s", crt_path, ca_path,
			 why.data ? (char *)why.data : "verification failed");
		gnutls_free(why.data);
	} else if (tls_pki_id_of(crt, &id, err, errlen)) {
		(void)0;
	} else if (id.kind != kind || strcmp(id.name, p->self.name)) {
		char a[96], b[96];

		snprintf(err, errlen, "%s grants %s, not %s", crt_path,
			 tls_pki_id_text(&id, a, sizeof(a)),
			 tls_pki_id_text(&p->self, b, sizeof(b)));
	} else {
		if (exp - now < EXPIRY_WARN_DAYS * 86400)
			log_warn("%s expires in %lld days: issue a new one (docs/SECURITY.md)",
				 crt_path, (long long)((exp - now) / 86400));
		rc = 0;
	}
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(ca);
	return rc;
}

/* A tls_pki for dir trusting its ca.pem, with no certificate of its own yet: NULL with err. */
static struct tls_pki *with_ca(const char *dir, char *err, size_t errlen)
{
	char ca[TLS_PKI_PATH_MAX];
	struct tls_pki *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	if (snprintf(ca, sizeof(ca), "%s/ca.pem", dir) >= (int)sizeof(ca)) {
		snprintf(err, errlen, "the PKI directory's name is too long");
	} else if (access(ca, R_OK)) {
		snprintf(err, errlen,
			 "cannot read the cluster CA %s: %m (create a PKI with 'legoctl pki init "
			 "%s', or run with --insecure: see docs/SECURITY.md)",
			 ca, dir);
	} else if ((rc = gnutls_certificate_allocate_credentials(&p->cred)) < 0) {
		snprintf(err, errlen, "GnuTLS: %s", gnutls_strerror(rc));
	} else if ((rc = gnutls_certificate_set_x509_trust_file(p->cred, ca,
								GNUTLS_X509_FMT_PEM)) <= 0) {
		snprintf(err, errlen, "cannot load the cluster CA %s: %s", ca,
			 rc ? gnutls_strerror(rc) : "no certificate in it");
	} else {
		return p;
	}
	tls_pki_free(p);
	return NULL;
}

struct tls_pki *tls_pki_load(const char *dir, int kind, const char *name, char *err, size_t errlen)
{
	char ca[TLS_PKI_PATH_MAX], crt[TLS_PKI_PATH_MAX], key[TLS_PKI_PATH_MAX];
	struct tls_pki *p;
	int rc;

	if (name && !tls_pki_name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a certificate name", name);
		return NULL;
	}
	p = with_ca(dir, err, errlen);
	if (!p)
		return NULL;
	p->self.kind = kind;
	if (name)
		snprintf(p->self.name, sizeof(p->self.name), "%s", name);
	else if (only_name(dir, kind, p->self.name, err, errlen))
		goto fail;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if (tls_pki_path(crt, sizeof(crt), dir, kind, p->self.name, false) ||
	    tls_pki_path(key, sizeof(key), dir, kind, p->self.name, true)) {
		snprintf(err, errlen, "the PKI directory's name is too long");
		goto fail;
	}
	if (access(crt, R_OK) || access(key, R_OK)) {
		snprintf(err, errlen,
			 "cannot read %s or its key %s: %m (issue it with 'legoctl pki issue %s %s "
			 "%s')",
			 crt, key, dir, tls_pki_kind_name(kind), p->self.name);
		goto fail;
	}
	if ((rc = gnutls_certificate_set_x509_key_file(p->cred, crt, key, GNUTLS_X509_FMT_PEM)) <
	    0) {
		snprintf(err, errlen, "cannot load %s with its key %s: %s", crt, key,
			 gnutls_strerror(rc));
		goto fail;
	}
	if (check_own(p, ca, crt, kind, err, errlen))
		goto fail;
	return p;
fail:
	tls_pki_free(p);
	return NULL;
}

struct tls_pki *tls_pki_load_ca(const char *dir, char *err, size_t errlen)
{
	return with_ca(dir, err, errlen);
}

void tls_pki_free(struct tls_pki *p)
{
	if (!p)
		return;
	if (p->cred)
		gnutls_certificate_free_credentials(p->cred);
	free(p);
}

const struct tls_pki_id *tls_pki_self(const struct tls_pki *p)
{
	return &p->self;
}

const char *tls_pki_dirname(const struct tls_pki *p)
{
	return p->dir;
}

void *tls_pki_credentials(const struct tls_pki *p)
{
	return p->cred;
}

void tls_pki_warn_insecure(const char *prog, const char *what)
{
	log_warn("WARNING: INSECURE: %s runs with --insecure: %s has no TLS: no authentication, "
		 "no encryption; anyone who can reach it is trusted (give --pki DIR instead: "
		 "docs/SECURITY.md)",
		 prog, what);
}
