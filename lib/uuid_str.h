/* uuid_str.h: a UUID's text form, through libuuid (the one parse and format of lego). */
#ifndef LEGO_UUID_STR_H
#define LEGO_UUID_STR_H

#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or the same 32 hex digits without dashes (as
 * libvirt accepts in <uuid>): 0, or -1 if malformed. */
int uuid_str_parse(const char *text, uint8_t uuid[16]);
/* The canonical lower-case form. */
void uuid_str_format(const uint8_t uuid[16], char out[UUID_STR_LEN]);
/* A random (version 4) UUID. */
void uuid_str_generate(uint8_t uuid[16]);

#endif
