/* json_flat.h: a strict reader for the one-line JSON answers of lego-vmm's control socket
 * that lego-controld acts on: one object whose members are strings, non-negative integers,
 * null, true or false (no nesting: an answer with an object or array member is refused).
 * Strings longer than JF_STR_MAX are cut there; escaped control characters become a space
 * (\n, \t, ...) or '?' (\u escapes of anything but printable ASCII), so that what is read
 * can go into one log line. */
#ifndef LEGO_JSON_FLAT_H
#define LEGO_JSON_FLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JF_MAX_MEMBERS 48
#define JF_KEY_MAX     32
#define JF_STR_MAX     512

enum json_flat_type { JF_STRING, JF_NUMBER, JF_NULL, JF_BOOL };

struct json_flat_member {
	char key[JF_KEY_MAX + 1];
	enum json_flat_type type;
	char str[JF_STR_MAX + 1]; /* JF_STRING: the unescaped text (printable ASCII only) */
	bool is_uint;		  /* JF_NUMBER: a non-negative integer that fits num */
	uint64_t num;
	double dbl;   /* JF_NUMBER: its value (any number) */
	bool boolean; /* JF_BOOL */
};

struct json_flat_object {
	int n;
	struct json_flat_member m[JF_MAX_MEMBERS];
};

/* Parse text (the whole of it, surrounding blanks allowed); 0, or -1 with err saying what
 * is wrong (and where). A key may appear once. */
int json_flat_parse(const char *text, struct json_flat_object *o, char *err, size_t errlen);
/* The member named key, or NULL. */
const struct json_flat_member *json_flat_get(const struct json_flat_object *o, const char *key);

#endif
