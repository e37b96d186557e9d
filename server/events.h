/* events.h: transitional name of store_events_append (see store_events.h);
 * goes away once every caller says store_events_append. */
#ifndef PM_EVENTS_H
#define PM_EVENTS_H

#include "server/store_events.h"

#define events_append store_events_append

#endif
