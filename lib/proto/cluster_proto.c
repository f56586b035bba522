/* cluster_proto.c: encoding and strict decoding of cluster-protocol messages. */
#include "cluster_proto.h"

#include <stdio.h>
#include <string.h>

enum cluster_proto_status cluster_proto_hdr_get(const void *buf, size_t buflen, struct wire_hdr *h,
						char *err, size_t errlen)
{
	return wire_hdr_get(buf, buflen, CP_MAGIC, CP_VERSION, CP_MAX_PAYLOAD, h, err, errlen) ==
			       WIRE_HDR_OK
		       ? CP_OK
		       : CP_EPROTO;
}

const char *cluster_proto_status_name(uint32_t status)
{
	static const char *const names[] = {"ok",
					    "protocol error",
					    "unknown op",
					    "invalid argument",
					    "not found",
					    "already exists",
					    "no space",
					    "I/O error",
					    "not registered",
					    "permission denied",
					    "standby: not the leader"};

	return status <= CP_STATUS_MAX ? names[status] : "unknown status";
}

/* A refusal: why into err, and the status to answer with. */
static enum cluster_proto_status fail(char *err, size_t errlen, enum cluster_proto_status st,
				      const char *why)
{
	snprintf(err, errlen, "%s", why);
	return st;
}

static enum cluster_proto_status bad(char *err, size_t errlen, const char *why)
{
	return fail(err, errlen, CP_EINVAL, why);
}

static enum cluster_proto_status want_len(size_t len, size_t want, char *err, size_t errlen)
{
	if (len != want)
		return fail(err, errlen, CP_EPROTO, "payload length is wrong for this op");
	return CP_OK;
}

static bool uuid_zero(const uint8_t u[16])
{
	for (int i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

void cluster_proto_register_put(void *p, const struct cluster_proto_register *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->kind);
	wire_put_le32(b + 4, m->cores);
	wire_put_le64(b + 8, m->capacity_bytes);
	wire_name_put(b + 16, CP_NAME_LEN, m->name);
	wire_name_put(b + 16 + CP_NAME_LEN, CP_ADDR_LEN, m->addr);
	wire_name_put(b + CP_REGISTER_V1_LEN, CP_PROVIDER_LEN, m->provider);
}

enum cluster_proto_status cluster_proto_register_get(const void *p, size_t len,
						     struct cluster_proto_register *m, char *err,
						     size_t errlen)
{
	const uint8_t *b = p;

	if (len != CP_REGISTER_V1_LEN && want_len(len, CP_REGISTER_LEN, err, errlen))
		return CP_EPROTO;
	m->provider[0] = 0;
	if (len == CP_REGISTER_LEN &&
	    wire_name_get(b + CP_REGISTER_V1_LEN, CP_PROVIDER_LEN, m->provider))
		return bad(err, errlen, "provider name is not printable ASCII");
	m->kind = wire_get_le32(b);
	m->cores = wire_get_le32(b + 4);
	m->capacity_bytes = wire_get_le64(b + 8);
	if (m->kind < CP_KIND_PMON || m->kind > CP_KIND_SMON)
		return bad(err, errlen, "unknown component kind");
	if (wire_name_get(b + 16, CP_NAME_LEN, m->name) || !m->name[0])
		return bad(err, errlen, "component name is empty or not printable ASCII");
	if (wire_name_get(b + 16 + CP_NAME_LEN, CP_ADDR_LEN, m->addr) || !m->addr[0])
		return bad(err, errlen, "component address is empty or not printable ASCII");
	if (m->kind == CP_KIND_PMON && (m->cores == 0 || m->cores > 4096))
		return bad(err, errlen, "a processor host offers 1..4096 cores");
	if (m->kind != CP_KIND_PMON && m->cores)
		return bad(err, errlen, "only processor hosts offer cores");
	return CP_OK;
}

void cluster_proto_heartbeat_put(void *p, const struct cluster_proto_heartbeat *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->used_bytes);
	wire_put_le32(b + 8, m->used_cores);
	wire_put_le32(b + 12, m->nr_vms);
}

enum cluster_proto_status cluster_proto_heartbeat_get(const void *p, size_t len,
						      struct cluster_proto_heartbeat *m, char *err,
						      size_t errlen)
{
	const uint8_t *b = p;

	if (len < CP_HEARTBEAT_LEN)
		return fail(err, errlen, CP_EPROTO, "heartbeat shorter than its fixed part");
	m->used_bytes = wire_get_le64(b);
	m->used_cores = wire_get_le32(b + 8);
	m->nr_vms = wire_get_le32(b + 12);
	if (m->nr_vms > CP_MAX_VMS)
		return bad(err, errlen, "heartbeat reports more vNodes than allowed");
	return want_len(len, CP_HEARTBEAT_LEN + (size_t)m->nr_vms * CP_VM_STATUS_LEN, err, errlen);
}

void cluster_proto_vm_status_put(void *p, const struct cluster_proto_vm_status *m)
{
	uint8_t *b = p;

	memcpy(b, m->uuid, 16);
	wire_put_le64(b + 16, m->vnode_uid);
	wire_put_le32(b + 24, (uint32_t)m->domid);
	wire_put_le32(b + 28, m->pid);
	wire_put_le32(b + 32, m->state);
	wire_put_le32(b + 36, (uint32_t)m->exit_status);
	wire_put_le32(b + 40, m->vcpus);
	wire_put_le32(b + 44, 0);
}

enum cluster_proto_status cluster_proto_vm_status_get(const void *p,
						      struct cluster_proto_vm_status *m, char *err,
						      size_t errlen)
{
	const uint8_t *b = p;

	memcpy(m->uuid, b, 16);
	m->vnode_uid = wire_get_le64(b + 16);
	m->domid = (int32_t)wire_get_le32(b + 24);
	m->pid = wire_get_le32(b + 28);
	m->state = wire_get_le32(b + 32);
	m->exit_status = (int32_t)wire_get_le32(b + 36);
	m->vcpus = wire_get_le32(b + 40);
	m->reserved = wire_get_le32(b + 44);
	if (uuid_zero(m->uuid))
		return bad(err, errlen, "vNode status with a zero uuid");
	if (m->domid < 1)
		return bad(err, errlen, "vNode status with a domain id below 1");
	if (m->state < CP_VM_RUNNING || m->state > CP_VM_EXITED)
		return bad(err, errlen, "vNode status with an unknown state");
	if (m->exit_status < 0 || m->exit_status > 255)
		return bad(err, errlen, "vNode status with an exit status outside 0..255");
	if (m->reserved)
		return bad(err, errlen, "reserved field of a vNode status is not zero");
	return CP_OK;
}

void cluster_proto_vm_start_put(void *p, const struct cluster_proto_vm_start *m)
{
	uint8_t *b = p;

	memcpy(b, m->uuid, 16);
	wire_put_le64(b + 16, m->vnode_uid);
	wire_put_le32(b + 24, (uint32_t)m->domid);
	wire_put_le32(b + 28, m->vcpus);
	wire_put_le64(b + 32, m->excache_bytes);
	wire_name_put(b + 40, CP_NAME_LEN, m->name);
	wire_put_le32(b + 104, m->argc);
	wire_put_le32(b + 108, m->args_len);
	memset(b + 112, 0, 16);
}

enum cluster_proto_status cluster_proto_vm_start_get(const void *p, size_t len,
						     struct cluster_proto_vm_start *m,
						     const char **args, char *err, size_t errlen)
{
	const uint8_t *b = p;
	const char *s;
	uint32_t n = 0;

	if (len < CP_VM_START_LEN)
		return fail(err, errlen, CP_EPROTO, "VM_START shorter than its fixed part");
	memcpy(m->uuid, b, 16);
	m->vnode_uid = wire_get_le64(b + 16);
	m->domid = (int32_t)wire_get_le32(b + 24);
	m->vcpus = wire_get_le32(b + 28);
	m->excache_bytes = wire_get_le64(b + 32);
	m->argc = wire_get_le32(b + 104);
	m->args_len = wire_get_le32(b + 108);
	if (wire_name_get(b + 40, CP_NAME_LEN, m->name) || !m->name[0])
		return bad(err, errlen, "vNode name is empty or not printable ASCII");
	for (int i = 112; i < CP_VM_START_LEN; i++)
		if (b[i])
			return bad(err, errlen, "reserved bytes of VM_START are not zero");
	if (uuid_zero(m->uuid) || m->vnode_uid == 0 || m->domid < 1)
		return bad(err, errlen,
			   "VM_START needs a uuid, a vnode id and a domain id above 0");
	if (m->vcpus == 0 || m->vcpus > 64)
		return bad(err, errlen, "VM_START asks for 0 or more than 64 vCPUs");
	if (m->argc > CP_MAX_ARGS || m->args_len > CP_ARGS_MAX)
		return bad(err, errlen, "VM_START carries too many arguments");
	if (want_len(len, CP_VM_START_LEN + (size_t)m->args_len, err, errlen))
		return CP_EPROTO;
	s = (const char *)b + CP_VM_START_LEN;
	for (uint32_t i = 0; i < m->args_len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			n++;
		else if (c < 0x20 || c > 0x7e)
			return bad(err, errlen, "VM_START argument is not printable ASCII");
	}
	if (n != m->argc || (m->args_len && s[m->args_len - 1]))
		return bad(err, errlen, "VM_START argument count does not match its strings");
	*args = s;
	return CP_OK;
}

void cluster_proto_vm_stop_put(void *p, const struct cluster_proto_vm_stop *m)
{
	uint8_t *b = p;

	memcpy(b, m->uuid, 16);
	wire_put_le32(b + 16, m->mode);
	wire_put_le32(b + 20, m->grace_ms);
}

enum cluster_proto_status cluster_proto_vm_stop_get(const void *p, size_t len,
						    struct cluster_proto_vm_stop *m, char *err,
						    size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_VM_STOP_LEN, err, errlen))
		return CP_EPROTO;
	memcpy(m->uuid, b, 16);
	m->mode = wire_get_le32(b + 16);
	m->grace_ms = wire_get_le32(b + 20);
	if (m->mode > CP_STOP_FORCE)
		return bad(err, errlen, "unknown stop mode");
	if (m->grace_ms > 600000)
		return bad(err, errlen, "stop grace period above 10 minutes");
	return CP_OK;
}

static bool lower(char c)
{
	return c >= 'a' && c <= 'z';
}

bool cluster_proto_vm_cmd_ok(const char *cmd)
{
	const char *c = cmd;

	if (strlen(cmd) > CP_CMD_MAX || !lower(*c))
		return false;
	for (; *c && *c != ' '; c++)
		if (!lower(*c) && !(*c == '-' && lower(c[1])))
			return false;
	if (!*c)
		return true;
	if (!*++c)
		return false; /* a space must be followed by the argument */
	for (; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return false;
	return true;
}

size_t cluster_proto_vm_ctl_put(void *p, const struct cluster_proto_vm_ctl *m)
{
	bool lng = strnlen(m->cmd, CP_CMD_MAX + 1) > CP_CMD_LEN;

	memcpy(p, m->uuid, 16);
	wire_name_put((uint8_t *)p + 16, lng ? CP_CMD_MAX : CP_CMD_LEN, m->cmd);
	return lng ? CP_VM_CTL_LONG_LEN : CP_VM_CTL_LEN;
}

enum cluster_proto_status cluster_proto_vm_ctl_get(const void *p, size_t len,
						   struct cluster_proto_vm_ctl *m, char *err,
						   size_t errlen)
{
	bool lng = len == CP_VM_CTL_LONG_LEN;

	if (!lng && want_len(len, CP_VM_CTL_LEN, err, errlen))
		return CP_EPROTO;
	memcpy(m->uuid, p, 16);
	if (wire_name_get((const uint8_t *)p + 16, lng ? CP_CMD_MAX : CP_CMD_LEN, m->cmd) ||
	    !m->cmd[0])
		return bad(err, errlen, "VM_CTL command is empty or not printable ASCII");
	if (lng && strlen(m->cmd) <= CP_CMD_LEN)
		return bad(err, errlen, "VM_CTL command of 32 bytes or less in the long form");
	if (!cluster_proto_vm_cmd_ok(m->cmd))
		return bad(err, errlen,
			   "VM_CTL command is not a lowercase word with at most one argument");
	return CP_OK;
}

void cluster_proto_vm_console_put(void *p, const struct cluster_proto_vm_console *m)
{
	uint8_t *b = p;

	memcpy(b, m->uuid, 16);
	wire_put_le64(b + 16, m->offset);
	wire_put_le32(b + 24, m->max);
	wire_put_le32(b + 28, 0);
}

enum cluster_proto_status cluster_proto_vm_console_get(const void *p, size_t len,
						       struct cluster_proto_vm_console *m,
						       char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_VM_CONSOLE_LEN, err, errlen))
		return CP_EPROTO;
	memcpy(m->uuid, b, 16);
	m->offset = wire_get_le64(b + 16);
	m->max = wire_get_le32(b + 24);
	if (m->max == 0 || m->max > CP_CONSOLE_MAX)
		return bad(err, errlen, "VM_CONSOLE asks for 0 or more than 64 KiB");
	if (wire_get_le32(b + 28))
		return bad(err, errlen, "reserved field of VM_CONSOLE is not zero");
	return CP_OK;
}

void cluster_proto_vm_console_reply_put(void *p, const struct cluster_proto_vm_console_reply *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->offset);
	wire_put_le32(b + 8, m->state);
	wire_put_le32(b + 12, 0);
}

enum cluster_proto_status
cluster_proto_vm_console_reply_get(const void *p, size_t len,
				   struct cluster_proto_vm_console_reply *m)
{
	const uint8_t *b = p;

	if (len < CP_VM_CONSOLE_REPLY_LEN || len > CP_VM_CONSOLE_REPLY_LEN + CP_CONSOLE_MAX)
		return CP_EPROTO;
	m->offset = wire_get_le64(b);
	m->state = wire_get_le32(b + 8);
	if (m->state < CP_VM_RUNNING || m->state > CP_VM_EXITED || wire_get_le32(b + 12))
		return CP_EINVAL;
	return CP_OK;
}

void cluster_proto_vm_console_in_put(void *p, const struct cluster_proto_vm_console_in *m)
{
	uint8_t *b = p;

	memcpy(b, m->uuid, 16);
	wire_put_le32(b + 16, m->len);
	wire_put_le32(b + 20, 0);
	memcpy(b + CP_VM_CONSOLE_IN_LEN, m->data, m->len);
}

enum cluster_proto_status cluster_proto_vm_console_in_get(const void *p, size_t len,
							  struct cluster_proto_vm_console_in *m,
							  char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (len < CP_VM_CONSOLE_IN_LEN)
		return fail(err, errlen, CP_EPROTO, "VM_CONSOLE_IN is shorter than its fixed part");
	memcpy(m->uuid, b, 16);
	m->len = wire_get_le32(b + 16);
	m->data = b + CP_VM_CONSOLE_IN_LEN;
	if (wire_get_le32(b + 20))
		return bad(err, errlen, "reserved field of VM_CONSOLE_IN is not zero");
	if (m->len == 0 || m->len > CP_CONSOLE_IN_MAX)
		return bad(err, errlen, "VM_CONSOLE_IN carries 0 or more than 4096 bytes");
	if (len != CP_VM_CONSOLE_IN_LEN + (size_t)m->len)
		return fail(err, errlen, CP_EPROTO,
			    "VM_CONSOLE_IN's length does not match its payload");
	return CP_OK;
}

void cluster_proto_vm_console_in_reply_put(void *p,
					   const struct cluster_proto_vm_console_in_reply *m)
{
	wire_put_le32(p, m->accepted);
	wire_put_le32((uint8_t *)p + 4, m->queued);
}

enum cluster_proto_status
cluster_proto_vm_console_in_reply_get(const void *p, size_t len,
				      struct cluster_proto_vm_console_in_reply *m)
{
	if (len != CP_VM_CONSOLE_IN_REPLY_LEN)
		return CP_EPROTO;
	m->accepted = wire_get_le32(p);
	m->queued = wire_get_le32((const uint8_t *)p + 4);
	return m->accepted > CP_CONSOLE_IN_MAX ? CP_EINVAL : CP_OK;
}

enum cluster_proto_status cluster_proto_uuid_get(const void *p, size_t len, uint8_t uuid[16],
						 char *err, size_t errlen)
{
	if (want_len(len, 16, err, errlen))
		return CP_EPROTO;
	memcpy(uuid, p, 16);
	return CP_OK;
}

void cluster_proto_query_put(void *p, const struct cluster_proto_query *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->what);
	wire_put_le32(b + 4, m->flags);
	wire_name_put(b + 8, CP_NAME_LEN, m->name);
}

enum cluster_proto_status cluster_proto_query_get(const void *p, size_t len,
						  struct cluster_proto_query *m, char *err,
						  size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_QUERY_LEN, err, errlen))
		return CP_EPROTO;
	m->what = wire_get_le32(b);
	m->flags = wire_get_le32(b + 4);
	if (m->what < CP_Q_COMPONENTS || m->what > CP_Q_POOL)
		return bad(err, errlen, "unknown query");
	if (m->flags & ~CP_QUERY_JSON)
		return bad(err, errlen, "unknown query flags");
	if (wire_name_get(b + 8, CP_NAME_LEN, m->name))
		return bad(err, errlen, "query name is not printable ASCII");
	if (m->what == CP_Q_VNODE && !m->name[0])
		return bad(err, errlen, "query for one vNode needs its name");
	return CP_OK;
}

void cluster_proto_migrate_put(void *p, const struct cluster_proto_migrate *m)
{
	wire_name_put(p, CP_NAME_LEN, m->vnode);
	wire_name_put((uint8_t *)p + CP_NAME_LEN, CP_NAME_LEN, m->host);
}

enum cluster_proto_status cluster_proto_migrate_get(const void *p, size_t len,
						    struct cluster_proto_migrate *m, char *err,
						    size_t errlen)
{
	if (want_len(len, CP_MIGRATE_LEN, err, errlen))
		return CP_EPROTO;
	if (wire_name_get(p, CP_NAME_LEN, m->vnode) || !m->vnode[0])
		return bad(err, errlen, "MIGRATE's vNode name is empty or not printable ASCII");
	if (wire_name_get((const uint8_t *)p + CP_NAME_LEN, CP_NAME_LEN, m->host) || !m->host[0])
		return bad(err, errlen, "MIGRATE's host name is empty or not printable ASCII");
	return CP_OK;
}

void cluster_proto_mig_report_put(void *p, const struct cluster_proto_mig_report *m)
{
	uint8_t *b = p;

	wire_put_le64(b, m->total_us);
	wire_put_le64(b + 8, m->downtime_us);
	wire_put_le64(b + 16, m->bytes);
	wire_name_put(b + 24, CP_NAME_LEN, m->from);
	wire_name_put(b + 24 + CP_NAME_LEN, CP_NAME_LEN, m->to);
}

enum cluster_proto_status cluster_proto_mig_report_get(const void *p, size_t len,
						       struct cluster_proto_mig_report *m,
						       char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_MIG_REPORT_LEN, err, errlen))
		return CP_EPROTO;
	m->total_us = wire_get_le64(b);
	m->downtime_us = wire_get_le64(b + 8);
	m->bytes = wire_get_le64(b + 16);
	if (wire_name_get(b + 24, CP_NAME_LEN, m->from) || !m->from[0] ||
	    wire_name_get(b + 24 + CP_NAME_LEN, CP_NAME_LEN, m->to) || !m->to[0])
		return bad(err, errlen, "migration report without its hosts' names");
	if (m->downtime_us != CP_MIG_UNKNOWN && m->downtime_us > m->total_us)
		return bad(err, errlen, "migration report with more downtime than time");
	return CP_OK;
}

void cluster_proto_mig_status_put(void *p, const char *vnode)
{
	wire_name_put(p, CP_NAME_LEN, vnode);
}

enum cluster_proto_status cluster_proto_mig_status_get(const void *p, size_t len,
						       char vnode[CP_NAME_LEN + 1], char *err,
						       size_t errlen)
{
	if (want_len(len, CP_MIG_STATUS_LEN, err, errlen))
		return CP_EPROTO;
	if (wire_name_get(p, CP_NAME_LEN, vnode) || !vnode[0])
		return bad(err, errlen, "MIG_STATUS's vNode name is empty or not printable ASCII");
	return CP_OK;
}

void cluster_proto_mig_progress_put(void *p, const struct cluster_proto_mig_progress *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->phase);
	wire_put_le32(b + 4, 0);
	wire_put_le64(b + 8, m->elapsed_ms);
	wire_put_le64(b + 16, m->bytes_total);
	wire_put_le64(b + 24, m->bytes_processed);
	wire_put_le64(b + 32, m->bytes_remaining);
	wire_name_put(b + 40, CP_NAME_LEN, m->from);
	wire_name_put(b + 40 + CP_NAME_LEN, CP_NAME_LEN, m->to);
}

enum cluster_proto_status cluster_proto_mig_progress_get(const void *p, size_t len,
							 struct cluster_proto_mig_progress *m,
							 char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_MIG_PROGRESS_LEN, err, errlen))
		return CP_EPROTO;
	m->phase = wire_get_le32(b);
	m->elapsed_ms = wire_get_le64(b + 8);
	m->bytes_total = wire_get_le64(b + 16);
	m->bytes_processed = wire_get_le64(b + 24);
	m->bytes_remaining = wire_get_le64(b + 32);
	if (m->phase > CP_MIG_PHASE_MAX)
		return bad(err, errlen, "migration progress with an unknown phase");
	if (wire_get_le32(b + 4))
		return bad(err, errlen, "reserved field of a migration progress is not zero");
	if (wire_name_get(b + 40, CP_NAME_LEN, m->from) ||
	    wire_name_get(b + 40 + CP_NAME_LEN, CP_NAME_LEN, m->to))
		return bad(err, errlen,
			   "migration progress with a host name that is not printable ASCII");
	if (m->phase == CP_MIG_NONE) {
		if (m->elapsed_ms || m->bytes_total || m->bytes_processed || m->bytes_remaining ||
		    m->from[0] || m->to[0])
			return bad(err, errlen, "no migration, yet progress figures or hosts");
	} else if (!m->from[0] || !m->to[0]) {
		return bad(err, errlen, "migration progress without its hosts' names");
	}
	return CP_OK;
}

const char *cluster_proto_mig_phase_name(uint32_t phase)
{
	static const char *const names[] = {"none",	"starting", "connecting", "precopy",
					    "stopping", "sending",  "committing", "uncertain"};

	return phase <= CP_MIG_PHASE_MAX ? names[phase] : "unknown";
}

void cluster_proto_pool_job_put(void *p, const struct cluster_proto_pool_job *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->what);
	wire_put_le32(b + 4, 0);
	wire_name_put(b + 8, CP_NAME_LEN, m->server);
}

/* DRAIN and UNDRAIN name a server; REBALANCE none. */
static enum cluster_proto_status pool_server_ok(uint32_t what, const char *server, char *err,
						size_t errlen)
{
	if (what == CP_POOL_REBALANCE && server[0])
		return bad(err, errlen, "a rebalance names no memory server");
	if (what != CP_POOL_REBALANCE && !cluster_proto_name_ok(server))
		return bad(err, errlen,
			   "a drain or undrain names a memory server: 1-64 of [A-Za-z0-9._-]");
	return CP_OK;
}

enum cluster_proto_status cluster_proto_pool_job_get(const void *p, size_t len,
						     struct cluster_proto_pool_job *m, char *err,
						     size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_POOL_JOB_LEN, err, errlen))
		return CP_EPROTO;
	m->what = wire_get_le32(b);
	if (m->what < CP_POOL_DRAIN || m->what > CP_POOL_WHAT_MAX)
		return bad(err, errlen, "unknown pool job");
	if (wire_get_le32(b + 4))
		return bad(err, errlen, "reserved field of POOL_JOB is not zero");
	if (wire_name_get(b + 8, CP_NAME_LEN, m->server))
		return bad(err, errlen, "POOL_JOB's server name is not printable ASCII");
	return pool_server_ok(m->what, m->server, err, errlen);
}

void cluster_proto_pool_report_put(void *p, const struct cluster_proto_pool_report *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->what);
	wire_put_le32(b + 4, m->copies);
	wire_put_le64(b + 8, m->bytes);
	wire_put_le64(b + 16, m->elapsed_us);
	wire_put_le64(b + 24, m->server_used);
	wire_put_le32(b + 32, m->spread_before_ppm);
	wire_put_le32(b + 36, m->spread_after_ppm);
	wire_name_put(b + 40, CP_NAME_LEN, m->server);
}

enum cluster_proto_status cluster_proto_pool_report_get(const void *p, size_t len,
							struct cluster_proto_pool_report *m,
							char *err, size_t errlen)
{
	const uint8_t *b = p;
	enum cluster_proto_status st;

	if (want_len(len, CP_POOL_REPORT_LEN, err, errlen))
		return CP_EPROTO;
	m->what = wire_get_le32(b);
	m->copies = wire_get_le32(b + 4);
	m->bytes = wire_get_le64(b + 8);
	m->elapsed_us = wire_get_le64(b + 16);
	m->server_used = wire_get_le64(b + 24);
	m->spread_before_ppm = wire_get_le32(b + 32);
	m->spread_after_ppm = wire_get_le32(b + 36);
	if (m->what < CP_POOL_DRAIN || m->what > CP_POOL_WHAT_MAX)
		return bad(err, errlen, "pool report of an unknown job");
	if (wire_name_get(b + 40, CP_NAME_LEN, m->server))
		return bad(err, errlen,
			   "pool report with a server name that is not printable ASCII");
	st = pool_server_ok(m->what, m->server, err, errlen);
	if (st)
		return st;
	if (m->spread_before_ppm > CP_PPM || m->spread_after_ppm > CP_PPM)
		return bad(err, errlen, "pool report with a spread above 100%");
	if (m->what != CP_POOL_REBALANCE && (m->spread_before_ppm || m->spread_after_ppm))
		return bad(err, errlen, "only a rebalance reports a spread");
	if (m->what != CP_POOL_DRAIN && m->server_used)
		return bad(err, errlen, "only a drain reports the server's use");
	if (m->what == CP_POOL_UNDRAIN && (m->copies || m->bytes || m->elapsed_us))
		return bad(err, errlen, "an undrain moves nothing");
	if (!m->copies != !m->bytes)
		return bad(err, errlen,
			   "pool report with copies but no bytes, or bytes but no copies");
	return CP_OK;
}

enum cluster_proto_status cluster_proto_pool_status_get(size_t len, char *err, size_t errlen)
{
	return want_len(len, 0, err, errlen);
}

void cluster_proto_pool_progress_put(void *p, const struct cluster_proto_pool_progress *m)
{
	uint8_t *b = p;

	wire_put_le32(b, m->what);
	wire_put_le32(b + 4, m->region);
	wire_put_le64(b + 8, m->elapsed_ms);
	wire_put_le32(b + 16, m->copies_total);
	wire_put_le32(b + 20, m->copies_done);
	wire_put_le64(b + 24, m->bytes_total);
	wire_put_le64(b + 32, m->bytes_done);
	wire_put_le32(b + 40, m->missing);
	wire_put_le32(b + 44, m->blocked);
	wire_name_put(b + 48, CP_NAME_LEN, m->server);
	wire_name_put(b + 48 + CP_NAME_LEN, CP_NAME_LEN, m->vnode);
	wire_name_put(b + 48 + 2 * CP_NAME_LEN, CP_NAME_LEN, m->to);
}

enum cluster_proto_status cluster_proto_pool_progress_get(const void *p, size_t len,
							  struct cluster_proto_pool_progress *m,
							  char *err, size_t errlen)
{
	const uint8_t *b = p;

	if (want_len(len, CP_POOL_PROGRESS_LEN, err, errlen))
		return CP_EPROTO;
	m->what = wire_get_le32(b);
	m->region = wire_get_le32(b + 4);
	m->elapsed_ms = wire_get_le64(b + 8);
	m->copies_total = wire_get_le32(b + 16);
	m->copies_done = wire_get_le32(b + 20);
	m->bytes_total = wire_get_le64(b + 24);
	m->bytes_done = wire_get_le64(b + 32);
	m->missing = wire_get_le32(b + 40);
	m->blocked = wire_get_le32(b + 44);
	if (m->what > CP_POOL_REBALANCE)
		return bad(err, errlen, "pool progress of an unknown job");
	if (wire_name_get(b + 48, CP_NAME_LEN, m->server) ||
	    wire_name_get(b + 48 + CP_NAME_LEN, CP_NAME_LEN, m->vnode) ||
	    wire_name_get(b + 48 + 2 * CP_NAME_LEN, CP_NAME_LEN, m->to))
		return bad(err, errlen, "pool progress with a name that is not printable ASCII");
	if (m->blocked > m->missing)
		return bad(err, errlen, "pool progress with more blocked copies than missing ones");
	if (m->what == CP_POOL_NONE) {
		if (m->region || m->elapsed_ms || m->copies_total || m->copies_done ||
		    m->bytes_total || m->bytes_done || m->server[0] || m->vnode[0] || m->to[0])
			return bad(err, errlen, "no pool job, yet its figures or names");
		return CP_OK;
	}
	if ((m->what == CP_POOL_DRAIN) != (m->server[0] != '\0'))
		return bad(err, errlen,
			   "pool progress: a drain names its server, a rebalance none");
	if (m->copies_done > m->copies_total || m->bytes_done > m->bytes_total)
		return bad(err, errlen, "pool progress with more done than there is to do");
	if (!m->vnode[0] != !m->to[0] || (!m->vnode[0] && m->region))
		return bad(err, errlen,
			   "pool progress: a step names its vNode, vRegion and target together");
	return CP_OK;
}

const char *cluster_proto_pool_what_name(uint32_t what)
{
	static const char *const names[] = {"none", "drain", "rebalance", "undrain"};

	return what <= CP_POOL_WHAT_MAX ? names[what] : "unknown";
}

bool cluster_proto_name_ok(const char *s)
{
	return wire_name_ok(s, CP_NAME_LEN, true);
}
