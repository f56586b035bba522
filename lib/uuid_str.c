/* uuid_str.c: UUID text through libuuid, with libvirt's dash-less form accepted too. */
#include <string.h>
#include <uuid/uuid.h>

#include "uuid_str.h"

int uuid_str_parse(const char *text, uint8_t uuid[16])
{
	char canon[UUID_STR_LEN];
	size_t n = strlen(text);

	if (n == 32 && !strchr(text, '-')) {
		/* 8-4-4-4-12 */
		static const int cut[] = {8, 12, 16, 20};
		size_t o = 0, i = 0;

		for (int c = 0; c < 4; c++) {
			memcpy(canon + o, text + i, (size_t)cut[c] - i);
			o += (size_t)cut[c] - i;
			i = (size_t)cut[c];
			canon[o++] = '-';
		}
		memcpy(canon + o, text + i, 32 - i);
		canon[36] = '\0';
		text = canon;
	} else if (n != 36) {
		return -1;
	}
	return uuid_parse(text, uuid) ? -1 : 0;
}

void uuid_str_format(const uint8_t uuid[16], char out[UUID_STR_LEN])
{
	uuid_unparse_lower(uuid, out);
}

void uuid_str_generate(uint8_t uuid[16])
{
	uuid_generate_random(uuid);
}
