/* mac_addr.h: Ethernet MAC addresses as text ("52:54:00:12:34:56"), checked, and the locally
 * administered ones lego makes up. */
#ifndef LEGO_MAC_ADDR_H
#define LEGO_MAC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAC_ADDR_LEN	  6
#define MAC_ADDR_TEXT_LEN 18 /* "xx:xx:xx:xx:xx:xx" and its NUL */

/* Exactly six colon-separated pairs of hex digits (either case): 0, or -1. */
int mac_addr_parse(const char *text, uint8_t mac[MAC_ADDR_LEN]);
/* Lower-case "xx:xx:xx:xx:xx:xx" into out (MAC_ADDR_TEXT_LEN bytes). */
void mac_addr_format(const uint8_t mac[MAC_ADDR_LEN], char out[MAC_ADDR_TEXT_LEN]);
/* A station's address: neither multicast (nor broadcast) nor all zero. */
bool mac_addr_is_unicast(const uint8_t mac[MAC_ADDR_LEN]);
/* A locally administered unicast address for interface index of a vNode: 02:4c (lego's
 * prefix), then 29 bits of a hash of vnode and the index in the low 3 bits, so that a vNode
 * keeps its addresses wherever it runs and two vNodes rarely share one. */
void mac_addr_local(uint64_t vnode, unsigned index, uint8_t mac[MAC_ADDR_LEN]);

#endif
