/* mem_budget.h: the memory a server lets its clients' big messages take, in total: a
 * connection holds a share while its message is read and handled, and a client that sends
 * half of a big message and waits holds only its share, never the server's memory. */
#ifndef LEGO_MEM_BUDGET_H
#define LEGO_MEM_BUDGET_H

#include <pthread.h>
#include <stdint.h>

/* Messages up to this size are not charged: the connection caps bound them. */
#define MEM_BUDGET_SMALL 65536

struct mem_budget {
	pthread_mutex_t lock;
	uint64_t cap, used;
};

void mem_budget_init(struct mem_budget *b, uint64_t cap);
/* Make what a holder holds (*held) n bytes: 0, or -1 if the budget cannot cover n now (the
 * holder then holds nothing). n = 0 gives everything back. */
int mem_budget_hold(struct mem_budget *b, uint64_t *held, uint64_t n);

#endif
