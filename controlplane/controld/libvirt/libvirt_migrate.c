/* libvirt_migrate.c: peer-to-peer live migration as virsh asks for it
 * (DOMAIN_MIGRATE_PERFORM3_PARAMS: its arguments checked here, the migration answered from
 * a thread of its own), its progress (GET_JOB_INFO) and its abort (ABORT_JOB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/controld/controld_migrate.h"
#include "controlplane/controld/controld_registry.h"
#include "libvirt_dispatch.h"

/* virDomainJobType. */
#define JOB_NONE    0
#define JOB_BOUNDED 1

/* What the migration's thread needs. */
struct mig_job {
	uint8_t uuid[16];
	struct controld_migrate_target target;
};

/* The arguments, checked under the registry lock; the thread gets the job. */
enum libvirt_result libvirt_migrate_check(struct libvirt_call *c)
{
	const struct libvirt_args *a = c->a;
	struct mig_args_request r;
	struct mig_job *m;
	int rc = mig_args_flags_check(a->flags, c->v->persistent, c->err, sizeof(c->err));

	if (!rc && !a->uri)
		return libvirt_dispatch_fail(
			c, RPC_ERR_INVALID_ARG,
			"invalid argument: a peer-to-peer migration needs a destination URI");
	if (!rc)
		rc = mig_args_uri_parse(a->uri, &r, c->err, sizeof(c->err));
	if (!rc)
		rc = mig_args_params_check(a->params, a->nparams, c->v->def.name, &r, c->err,
					   sizeof(c->err));
	if (rc) {
		c->ecode = rc;
		return LIBVIRT_FAILED;
	}
	if (a->cookie_len)
		return libvirt_dispatch_fail(c, RPC_ERR_INVALID_ARG,
					     "invalid argument: lego migrations take no cookie (%u "
					     "bytes given)",
					     a->cookie_len);
	m = calloc(1, sizeof(*m));
	if (!m)
		return libvirt_dispatch_fail(c, RPC_ERR_INTERNAL, "out of memory");
	memcpy(m->uuid, c->v->def.uuid, 16);
	snprintf(m->target.host, sizeof(m->target.host), "%s", r.host);
	snprintf(m->target.listen_host, sizeof(m->target.listen_host), "%s", r.listen_host);
	m->target.listen_port = r.listen_port;
	c->job = m;
	return LIBVIRT_REPLY;
}

/* The migration, on its own thread: the reply is an empty cookie_out (the client passes no
 * buffer for one). */
static int run(void *job, struct xdr_out *o, char *err, size_t errlen)
{
	struct mig_job *m = job;
	struct controld_migrate_result res;
	int rc = controld_migrate_run(m->uuid, &m->target, &res, err, errlen);

	if (!rc)
		xdr_put_u32(o, 0);
	return rc;
}

const struct libvirt_thread libvirt_migrate_thread = {run, "the migration"};

enum libvirt_result libvirt_migrate_job_info(struct libvirt_call *c)
{
	struct xdr_out *o = c->o;
	struct cluster_proto_mig_progress p;

	controld_migrate_progress(c->v, &p);
	xdr_put_i32(o, p.phase == CP_MIG_NONE ? JOB_NONE : JOB_BOUNDED);
	xdr_put_u64(o, p.elapsed_ms); /* timeElapsed */
	xdr_put_u64(o, 0);	      /* timeRemaining: not known */
	for (int i = 0; i < 2; i++) { /* data*, then mem*: all of it is memory */
		xdr_put_u64(o, p.bytes_total);
		xdr_put_u64(o, p.bytes_processed);
		xdr_put_u64(o, p.bytes_remaining);
	}
	for (int i = 0; i < 3; i++) /* file*: nothing is copied to files */
		xdr_put_u64(o, 0);
	return LIBVIRT_REPLY;
}

enum libvirt_result libvirt_migrate_abort(struct libvirt_call *c)
{
	libvirt_dispatch_unlock(c);
	c->ecode = controld_migrate_abort(c->a->uuid, c->err, sizeof(c->err));
	return c->ecode ? LIBVIRT_FAILED : LIBVIRT_REPLY;
}
