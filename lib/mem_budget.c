/* mem_budget.c: a shared byte budget under a lock. */
#include "mem_budget.h"

void mem_budget_init(struct mem_budget *b, uint64_t cap)
{
	pthread_mutex_init(&b->lock, NULL);
	b->cap = cap;
	b->used = 0;
}

int mem_budget_hold(struct mem_budget *b, uint64_t *held, uint64_t n)
{
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	b->used -= *held;
	*held = 0;
	if (n > b->cap - b->used)
		rc = -1;
	else
		*held = n;
	b->used += *held;
	pthread_mutex_unlock(&b->lock);
	return rc;
}
