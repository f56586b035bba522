/* tls_pki.h: a program's side of the cluster PKI (docs/SECURITY.md): the CA it trusts and
 * its own certificate and key, read from the PKI directory, and what a certificate grants:
 * a kind (the subject's OU) and a name (its CN).
 *
 * The directory (--pki DIR, else $LEGO_PKI, else /etc/lego/pki) holds
 *   ca.pem                       the cluster CA's certificate (ca-key.pem: its key, kept by
 *                                the operator; only `legoctl pki` reads it)
 *   KIND-NAME.pem, KIND-NAME-key.pem   a certificate and key per component or admin, KIND
 *                                one of controld, pmon, mmon, smon, admin
 *   capability-key.pem, capability-pub.pem   lego-controld's capability signing key pair */
#ifndef LEGO_TLS_PKI_H
#define LEGO_TLS_PKI_H

#include <stdbool.h>
#include <stddef.h>

#define TLS_PKI_DEFAULT_DIR "/etc/lego/pki"
#define TLS_PKI_NAME_MAX    64
#define TLS_PKI_PATH_MAX    4096

enum tls_pki_kind {
	TLS_KIND_NONE = 0, /* no certificate: a plain connection, or not yet authenticated */
	TLS_KIND_CONTROLD = 1,
	TLS_KIND_PMON = 2,
	TLS_KIND_MMON = 3,
	TLS_KIND_SMON = 4,
	TLS_KIND_ADMIN = 5,
	TLS_KIND_MAX = 5,
};
#define TLS_KIND_BIT(k) (1U << (k))
/* Who may drive the cluster: lego-controld itself and the operators. */
#define TLS_KINDS_OPERATOR (TLS_KIND_BIT(TLS_KIND_CONTROLD) | TLS_KIND_BIT(TLS_KIND_ADMIN))

/* What a certificate grants. */
struct tls_pki_id {
	int kind; /* enum tls_pki_kind */
	char name[TLS_PKI_NAME_MAX + 1];
};

struct tls_pki;

/* "controld", "pmon", "mmon", "smon", "admin" ("none" for TLS_KIND_NONE). */
const char *tls_pki_kind_name(int kind);
/* The kind named by text, or -1. */
int tls_pki_kind_parse(const char *text);
/* A name a certificate may carry: 1..64 of [A-Za-z0-9._-], not ending in "-key". */
bool tls_pki_name_ok(const char *name);
/* The PKI directory: opt (--pki) if given, else $LEGO_PKI, else TLS_PKI_DEFAULT_DIR. */
const char *tls_pki_dir(const char *opt);
/* DIR/KIND-NAME.pem (or its key, with "-key"): 0, or -1 if it does not fit. */
int tls_pki_path(char *out, size_t len, const char *dir, int kind, const char *name, bool key);

/* Load DIR/ca.pem and the certificate and key of KIND NAME (name NULL: the only KIND
 * certificate in DIR). The certificate must be signed by the CA, valid now, and grant that
 * kind and name. NULL with err saying what is missing or wrong. */
struct tls_pki *tls_pki_load(const char *dir, int kind, const char *name, char *err, size_t errlen);
/* Only DIR/ca.pem: a client that checks servers but presents no certificate (tests of
 * what servers make of one). */
struct tls_pki *tls_pki_load_ca(const char *dir, char *err, size_t errlen);
void tls_pki_free(struct tls_pki *p);
/* What our own certificate grants. */
const struct tls_pki_id *tls_pki_self(const struct tls_pki *p);
const char *tls_pki_dirname(const struct tls_pki *p);
/* The gnutls_certificate_credentials_t, for tls_conn.c. */
void *tls_pki_credentials(const struct tls_pki *p);

/* The kind and name a certificate (a gnutls_x509_crt_t) grants: 0, or -1 with err. */
int tls_pki_id_of(void *crt, struct tls_pki_id *id, char *err, size_t errlen);
/* "pmon 'h1'" (or "no certificate") into out. */
const char *tls_pki_id_text(const struct tls_pki_id *id, char *out, size_t len);

/* The insecure option's warning, logged at every start of a program run without TLS: what
 * runs unprotected (e.g. "the cluster port"). */
void tls_pki_warn_insecure(const char *prog, const char *what);

#endif
