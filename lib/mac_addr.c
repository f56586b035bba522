/* mac_addr.c: MAC address text, checks, and lego's locally administered addresses. */
#include "mac_addr.h"

#include <stdio.h>

#include "parse.h"

int mac_addr_parse(const char *text, uint8_t mac[MAC_ADDR_LEN])
{
	for (int i = 0; i < MAC_ADDR_LEN; i++) {
		const char *p = text + 3 * i;
		int hi = parse_hex_digit(p[0]), lo = hi < 0 ? -1 : parse_hex_digit(p[1]);

		if (lo < 0 || p[2] != (i == MAC_ADDR_LEN - 1 ? '\0' : ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void mac_addr_format(const uint8_t mac[MAC_ADDR_LEN], char out[MAC_ADDR_TEXT_LEN])
{
	snprintf(out, MAC_ADDR_TEXT_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

bool mac_addr_is_unicast(const uint8_t mac[MAC_ADDR_LEN])
{
	uint8_t any = 0;

	for (int i = 0; i < MAC_ADDR_LEN; i++)
		any |= mac[i];
	return any && !(mac[0] & 1);
}

void mac_addr_local(uint64_t vnode, unsigned index, uint8_t mac[MAC_ADDR_LEN])
{
	/* splitmix64's finaliser: every bit of the id moves the hash. */
	uint64_t h = vnode + 0x9e3779b97f4a7c15ULL;

	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	h ^= h >> 31;
	mac[0] = 0x02; /* locally administered, unicast */
	mac[1] = 0x4c;
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)((h & 0xf8) | (index & 7));
}
