/* legoctl_pki.c: `legoctl pki`: the cluster's CA and a certificate per component and per
 * admin (its kind in the subject's OU, its name in the CN, the hosts it serves at in
 * subjectAltNames), lego-controld's capability key pair, and the files virsh reads for TLS.
 * Keys are ECDSA P-256 (certificates) and Ed25519 (capabilities), made with GnuTLS. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "legoctl.h"
#include "lib/parse.h"
#include "lib/tls/tls_pki.h"

#define CA_DAYS	  3650
#define LEAF_DAYS 365
#define MAX_HOSTS 16
#define PATH_LEN  TLS_PKI_PATH_MAX
#define MAX_DAYS  36500

/* Write data to path (mode), atomically; an existing file only if replace. 0, or 1 after
 * saying why. */
static int put_file(const char *path, const void *data, size_t len, mode_t mode, bool replace)
{
	char tmp[PATH_LEN + 8];
	int fd;

	if (!replace && access(path, F_OK) == 0) {
		fprintf(stderr, "legoctl: %s exists (give --replace to make a new one)\n", path);
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) || close(fd) ||
	    rename(tmp, path)) {
		fprintf(stderr, "legoctl: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return 1;
	}
	return 0;
}

static int gnutls_fail(const char *what, int rc)
{
	fprintf(stderr, "legoctl: %s: %s\n", what, gnutls_strerror(rc));
	return 1;
}

/* A new key: ECDSA P-256 for certificates, Ed25519 for capabilities. */
static int new_key(gnutls_x509_privkey_t *key, gnutls_pk_algorithm_t algo, gnutls_ecc_curve_t curve)
{
	int rc = gnutls_x509_privkey_init(key);

	if (rc >= 0)
		rc = gnutls_x509_privkey_generate2(*key, algo, GNUTLS_CURVE_TO_BITS(curve), 0, NULL,
						   0);
	return rc < 0 ? gnutls_fail("cannot make a key", rc) : 0;
}

static int put_key(const char *path, gnutls_x509_privkey_t key, bool replace)
{
	gnutls_datum_t d = {0};
	int rc = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
						   GNUTLS_PKCS_PLAIN, &d);

	if (rc < 0)
		return gnutls_fail("cannot write a key", rc);
	rc = put_file(path, d.data, d.size, 0600, replace);
	gnutls_free(d.data);
	return rc;
}

static int put_crt(const char *path, gnutls_x509_crt_t crt, bool replace)
{
	gnutls_datum_t d = {0};
	int rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d);

	if (rc < 0)
		return gnutls_fail("cannot write a certificate", rc);
	rc = put_file(path, d.data, d.size, 0644, replace);
	gnutls_free(d.data);
	return rc;
}

/* The hosts a server is reached at, as subjectAltNames: addresses as IP, others as DNS. */
static int add_hosts(gnutls_x509_crt_t crt, char **hosts, int nhosts)
{
	for (int i = 0; i < nhosts; i++) {
		uint8_t ip[16];
		int rc;

		if (inet_pton(AF_INET, hosts[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
								  GNUTLS_FSAN_APPEND);
		else if (inet_pton(AF_INET6, hosts[i], ip) == 1)
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 16,
								  GNUTLS_FSAN_APPEND);
		else
			rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, hosts[i],
								  (unsigned)strlen(hosts[i]),
								  GNUTLS_FSAN_APPEND);
		if (rc < 0)
			return gnutls_fail(hosts[i], rc);
	}
	return 0;
}

struct subject {
	const char *ou, *cn;
	char **hosts;
	int nhosts;
	unsigned days;
	bool ca;
};

/* A certificate for key with subject s, signed by (ca, ca_key), or self-signed when ca is
 * NULL. */
static int make_crt(gnutls_x509_crt_t *out, gnutls_x509_privkey_t key, const struct subject *s,
		    gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key)
{
	gnutls_x509_crt_t crt;
	uint8_t serial[16], id[64];
	size_t idlen = sizeof(id);
	time_t now = time(NULL);
	int rc = gnutls_x509_crt_init(&crt);

	if (rc < 0)
		return gnutls_fail("cannot make a certificate", rc);
	gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));
	serial[0] &= 0x7f; /* a positive serial number */
	if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 300)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)s->days * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "lego",
						4)) < 0 ||
	    (s->ou &&
	     (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, 0,
						 s->ou, (unsigned)strlen(s->ou))) < 0) ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, s->cn,
						(unsigned)strlen(s->cn))) < 0 ||
	    (rc = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (rc = gnutls_x509_crt_set_basic_constraints(crt, s->ca, -1)) < 0)
		goto fail;
	/* As libvirt checks them: signing for the CA; for the others signatures and key
	 * exchange, as TLS server and client both (a component is each in turn). */
	if (s->ca) {
		rc = gnutls_x509_crt_set_key_usage(crt,
						   GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	} else if ((rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE |
								    GNUTLS_KEY_KEY_ENCIPHERMENT)) >=
			   0 &&
		   (rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) >=
			   0) {
		rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
	}
	if (rc < 0 || add_hosts(crt, s->hosts, s->nhosts))
		goto fail;
	if ((rc = gnutls_x509_crt_get_key_id(crt, 0, id, &idlen)) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_key_id(crt, id, idlen)) < 0)
		goto fail;
	idlen = sizeof(id);
	if (ca && ((rc = gnutls_x509_crt_get_subject_key_id(ca, id, &idlen, NULL)) < 0 ||
		   (rc = gnutls_x509_crt_set_authority_key_id(crt, id, idlen)) < 0))
		goto fail;
	rc = gnutls_x509_crt_sign2(crt, ca ? ca : crt, ca ? ca_key : key, GNUTLS_DIG_SHA256, 0);
	if (rc < 0)
		goto fail;
	*out = crt;
	return 0;
fail:
	gnutls_x509_crt_deinit(crt);
	return rc < 0 ? gnutls_fail("cannot make a certificate", rc) : 1;
}

/* --days N, --host H, --replace after the operands. */
struct pki_opts {
	unsigned days;
	char *hosts[MAX_HOSTS];
	int nhosts;
	bool replace;
};

static int pki_opts(int argc, char **argv, int first, struct pki_opts *po, bool hosts)
{
	for (int i = first; i < argc; i++) {
		uint64_t n;

		if (!strcmp(argv[i], "--replace")) {
			po->replace = true;
		} else if (!strcmp(argv[i], "--days") && i + 1 < argc) {
			if (parse_uint(argv[++i], 1, MAX_DAYS, &n))
				return legoctl_common_bad_usage("--days '%s' must be 1..%d",
								argv[i], MAX_DAYS);
			po->days = (unsigned)n;
		} else if (hosts && !strcmp(argv[i], "--host") && i + 1 < argc) {
			if (po->nhosts == MAX_HOSTS)
				return legoctl_common_bad_usage("at most %d --host", MAX_HOSTS);
			po->hosts[po->nhosts++] = argv[++i];
		} else {
			return legoctl_common_bad_usage("pki: unexpected '%s'", argv[i]);
		}
	}
	return 0;
}

/* The capability key pair: Ed25519, its public half as a SubjectPublicKeyInfo. */
static int capability_keys(const char *dir, bool replace)
{
	char path[PATH_LEN];
	gnutls_x509_privkey_t key;
	gnutls_privkey_t priv = NULL;
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = {0};
	int rc;

	if (new_key(&key, GNUTLS_PK_EDDSA_ED25519, GNUTLS_ECC_CURVE_ED25519))
		return 1;
	snprintf(path, sizeof(path), "%s/capability-key.pem", dir);
	rc = put_key(path, key, replace);
	if (!rc && ((rc = gnutls_privkey_init(&priv)) < 0 ||
		    (rc = gnutls_privkey_import_x509(priv, key, 0)) < 0 ||
		    (rc = gnutls_pubkey_init(&pub)) < 0 ||
		    (rc = gnutls_pubkey_import_privkey(pub, priv, 0, 0)) < 0 ||
		    (rc = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_PEM, &d)) < 0))
		rc = gnutls_fail("cannot make the capability public key", rc);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/capability-pub.pem", dir);
		rc = put_file(path, d.data, d.size, 0644, replace);
	}
	gnutls_free(d.data);
	if (pub)
		gnutls_pubkey_deinit(pub);
	if (priv)
		gnutls_privkey_deinit(priv);
	gnutls_x509_privkey_deinit(key);
	return rc;
}

int legoctl_pki_init(const struct legoctl_opts *o, int argc, char **argv)
{
	struct pki_opts po = {.days = CA_DAYS};
	struct subject s = {.cn = "lego cluster CA", .ca = true};
	char path[PATH_LEN];
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	int rc;

	(void)o;
	if (argc < 1)
		return legoctl_common_bad_usage("%s", "pki init: give the PKI directory");
	if ((rc = pki_opts(argc, argv, 1, &po, false)))
		return rc;
	s.days = po.days;
	if (mkdir(argv[0], 0700) && errno != EEXIST) {
		fprintf(stderr, "legoctl: cannot create %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/ca.pem", argv[0]);
	if (!po.replace && access(path, F_OK) == 0) {
		fprintf(stderr, "legoctl: %s exists: this directory has a CA already\n", path);
		return 1;
	}
	if (new_key(&key, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP256R1))
		return 1;
	rc = make_crt(&crt, key, &s, NULL, NULL);
	if (!rc) {
		snprintf(path, sizeof(path), "%s/ca-key.pem", argv[0]);
		rc = put_key(path, key, po.replace);
		snprintf(path, sizeof(path), "%s/ca.pem", argv[0]);
		rc = rc ? rc : put_crt(path, crt, po.replace);
		gnutls_x509_crt_deinit(crt);
	}
	gnutls_x509_privkey_deinit(key);
	rc = rc ? rc : capability_keys(argv[0], po.replace);
	if (!rc)
		printf("%s: the cluster CA (ca.pem; its key ca-key.pem: keep it with the "
		       "operator) and lego-controld's capability keys (capability-key.pem, "
		       "capability-pub.pem)\n",
		       argv[0]);
	return rc;
}

/* The CA of dir: its certificate and key. */
static int load_ca(const char *dir, gnutls_x509_crt_t *ca, gnutls_x509_privkey_t *key)
{
	char path[PATH_LEN];
	gnutls_datum_t d = {0};
	int rc;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if ((rc = gnutls_load_file(path, &d)) < 0 || (rc = gnutls_x509_crt_init(ca)) < 0 ||
	    (rc = gnutls_x509_crt_import(*ca, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		gnutls_free(d.data);
		fprintf(stderr,
			"legoctl: cannot read the CA %s: %s (make one with 'legoctl pki init "
			"%s')\n",
			path, gnutls_strerror(rc), dir);
		return 1;
	}
	gnutls_free(d.data);
	snprintf(path, sizeof(path), "%s/ca-key.pem", dir);
	d = (gnutls_datum_t){0};
	if ((rc = gnutls_load_file(path, &d)) < 0 || (rc = gnutls_x509_privkey_init(key)) < 0 ||
	    (rc = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		gnutls_free(d.data);
		gnutls_x509_crt_deinit(*ca);
		fprintf(stderr, "legoctl: cannot read the CA's key %s: %s\n", path,
			gnutls_strerror(rc));
		return 1;
	}
	gnutls_free(d.data);
	return 0;
}

/* A certificate and key for kind name in dir, signed by its CA. */
static int issue(const char *dir, int kind, const char *name, const struct pki_opts *po)
{
	struct subject s = {.ou = tls_pki_kind_name(kind),
			    .cn = name,
			    .hosts = (char **)po->hosts,
			    .nhosts = po->nhosts,
			    .days = po->days};
	char crt_path[PATH_LEN], key_path[PATH_LEN];
	gnutls_x509_crt_t ca, crt;
	gnutls_x509_privkey_t ca_key, key;
	int rc;

	if (tls_pki_path(crt_path, sizeof(crt_path), dir, kind, name, false) ||
	    tls_pki_path(key_path, sizeof(key_path), dir, kind, name, true))
		return legoctl_common_bad_usage("%s", "pki: the directory's name is too long");
	if (!po->replace && access(crt_path, F_OK) == 0) {
		fprintf(stderr, "legoctl: %s exists (give --replace to issue a new one)\n",
			crt_path);
		return 1;
	}
	if (load_ca(dir, &ca, &ca_key))
		return 1;
	rc = new_key(&key, GNUTLS_PK_ECDSA, GNUTLS_ECC_CURVE_SECP256R1);
	if (!rc) {
		rc = make_crt(&crt, key, &s, ca, ca_key);
		/* The key first: a certificate is never there without its key. */
		if (!rc) {
			rc = put_key(key_path, key, true);
			rc = rc ? rc : put_crt(crt_path, crt, true);
			gnutls_x509_crt_deinit(crt);
		}
		gnutls_x509_privkey_deinit(key);
	}
	gnutls_x509_privkey_deinit(ca_key);
	gnutls_x509_crt_deinit(ca);
	return rc;
}

int legoctl_pki_issue(const struct legoctl_opts *o, int argc, char **argv)
{
	struct pki_opts po = {.days = LEAF_DAYS};
	int kind, rc;

	(void)o;
	if (argc < 3)
		return legoctl_common_bad_usage("%s", "pki issue: give DIR KIND NAME");
	kind = tls_pki_kind_parse(argv[1]);
	if (kind < 0)
		return legoctl_common_bad_usage(
			"pki issue: kind '%s' is not one of controld, pmon, mmon, smon, admin",
			argv[1]);
	if (!tls_pki_name_ok(argv[2]))
		return legoctl_common_bad_usage(
			"pki issue: name '%s' must be 1-64 of [A-Za-z0-9._-], not ending in -key",
			argv[2]);
	if ((rc = pki_opts(argc, argv, 3, &po, true)))
		return rc;
	rc = issue(argv[0], kind, argv[2], &po);
	if (!rc) {
		printf("%s/%s-%s.pem: %s '%s', valid %u days", argv[0], argv[1], argv[2], argv[1],
		       argv[2], po.days);
		for (int i = 0; i < po.nhosts; i++)
			printf("%s%s", i ? ", " : ", for hosts ", po.hosts[i]);
		printf("\n");
	}
	return rc;
}

/* Copy from to to (mode). */
static int copy_file(const char *from, const char *to, mode_t mode)
{
	gnutls_datum_t d = {0};
	int rc = gnutls_load_file(from, &d);

	if (rc < 0) {
		fprintf(stderr, "legoctl: cannot read %s: %s\n", from, gnutls_strerror(rc));
		return 1;
	}
	rc = put_file(to, d.data, d.size, mode, true);
	gnutls_free(d.data);
	return rc;
}

int legoctl_pki_libvirt_client(const struct legoctl_opts *o, int argc, char **argv)
{
	struct pki_opts po = {.days = LEAF_DAYS};
	char crt[PATH_LEN], key[PATH_LEN], ca[PATH_LEN], out[PATH_LEN];
	int rc;

	(void)o;
	if (argc < 3)
		return legoctl_common_bad_usage("%s", "pki libvirt-client: give DIR NAME OUTDIR");
	if (!tls_pki_name_ok(argv[1]))
		return legoctl_common_bad_usage("pki libvirt-client: '%s' is not a name", argv[1]);
	if ((rc = pki_opts(argc, argv, 3, &po, false)))
		return rc;
	tls_pki_path(crt, sizeof(crt), argv[0], TLS_KIND_ADMIN, argv[1], false);
	tls_pki_path(key, sizeof(key), argv[0], TLS_KIND_ADMIN, argv[1], true);
	/* The admin's certificate, issued now if it has none. */
	if (access(crt, F_OK) && (rc = issue(argv[0], TLS_KIND_ADMIN, argv[1], &po)))
		return rc;
	if (mkdir(argv[2], 0700) && errno != EEXIST) {
		fprintf(stderr, "legoctl: cannot create %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	snprintf(ca, sizeof(ca), "%s/ca.pem", argv[0]);
	snprintf(out, sizeof(out), "%s/cacert.pem", argv[2]);
	rc = copy_file(ca, out, 0644);
	if (!rc) {
		snprintf(out, sizeof(out), "%s/clientcert.pem", argv[2]);
		rc = copy_file(crt, out, 0644);
	}
	if (!rc) {
		snprintf(out, sizeof(out), "%s/clientkey.pem", argv[2]);
		rc = copy_file(key, out, 0600);
	}
	if (!rc)
		printf("%s: virsh's files for admin '%s' (cacert.pem, clientcert.pem, "
		       "clientkey.pem): virsh -c 'lego+tls://HOST/system?pkipath=%s'\n",
		       argv[2], argv[1], argv[2]);
	return rc;
}

/* One line about the certificate in path: kind, name, expiry, hosts. */
static void list_one(const char *dir, const char *file)
{
	char path[PATH_LEN], when[32], san[256];
	gnutls_datum_t d = {0};
	gnutls_x509_crt_t crt;
	struct tls_pki_id id;
	time_t exp;
	struct tm tm;
	char err[128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (gnutls_load_file(path, &d) < 0 || gnutls_x509_crt_init(&crt) < 0) {
		gnutls_free(d.data);
		return;
	}
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0 &&
	    !tls_pki_id_of(crt, &id, err, sizeof(err))) {
		exp = gnutls_x509_crt_get_expiration_time(crt);
		gmtime_r(&exp, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		san[0] = '\0';
		for (unsigned i = 0, at = 0; at < sizeof(san) - 1; i++) {
			char raw[64], one[64];
			size_t n = sizeof(raw);
			int t = gnutls_x509_crt_get_subject_alt_name(crt, i, raw, &n, NULL);

			if (t < 0)
				break;
			if (t == GNUTLS_SAN_IPADDRESS)
				inet_ntop(n == 4 ? AF_INET : AF_INET6, raw, one, sizeof(one));
			else if (t == GNUTLS_SAN_DNSNAME)
				snprintf(one, sizeof(one), "%.*s", (int)n, raw);
			else
				continue;
			at += (unsigned)snprintf(san + at, sizeof(san) - at, "%s%s", at ? "," : "",
						 one);
		}
		printf("%-8s %-20s %-10s %-28s %s\n", tls_pki_kind_name(id.kind), id.name, when,
		       file, san[0] ? san : "-");
	}
	gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
}

int legoctl_pki_list(const struct legoctl_opts *o, int argc, char **argv)
{
	struct dirent **names;
	int n;

	(void)o;
	if (argc != 1)
		return legoctl_common_bad_usage("%s", "pki list: give the PKI directory");
	n = scandir(argv[0], &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "legoctl: cannot read %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	printf("%-8s %-20s %-10s %-28s %s\n", "KIND", "NAME", "EXPIRES", "FILE", "HOSTS");
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 4 && !strcmp(names[i]->d_name + len - 4, ".pem") &&
		    !(len > 8 && !strcmp(names[i]->d_name + len - 8, "-key.pem")))
			list_one(argv[0], names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return 0;
}
