/* log: one JSON object per line on stderr. */
#ifndef PURPOSED_LOG_H
#define PURPOSED_LOG_H

#include <jansson.h>

/* level: "info", "warn", "error"; event: short name; message may be NULL. */
void log_event(const char *level, const char *event, const char *message);
/* Log a prepared object (adds time and level); steals the reference. */
void log_json(const char *level, json_t *obj);

#endif
