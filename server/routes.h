/* routes: the table from (method, path pattern) to handler. */
#ifndef PURPOSED_ROUTES_H
#define PURPOSED_ROUTES_H

#include <stddef.h>

#include "router.h"

extern route_t routes[];
extern const size_t routes_count;

#endif
