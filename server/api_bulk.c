/* api_bulk.c: placeholder while the bulk handler is written. */
#include "server/api_bulk.h"

int
api_bulk_post(struct http_req *r)
{
	return http_error(r, 501, "not_implemented", "bulk is being built", NULL);
}
