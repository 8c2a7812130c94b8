/* log: JSON lines, written with one write(2) so lines never interleave. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_json(const char *level, json_t *obj)
{
    char ts[40];
    stamp(ts, sizeof ts);
    json_object_set_new(obj, "time", json_string(ts));
    json_object_set_new(obj, "level", json_string(level));
    char *line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!line) return;
    size_t len = strlen(line);
    char *buf = malloc(len + 2);
    if (buf) {
        memcpy(buf, line, len);
        buf[len] = '\n';
        ssize_t w = write(STDERR_FILENO, buf, len + 1);
        (void)w;
        free(buf);
    }
    free(line);
}

void log_event(const char *level, const char *event, const char *message)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event ? event : ""));
    if (message) {
        /* messages from libpq end with a newline; keep the line clean */
        char clean[1024];
        snprintf(clean, sizeof clean, "%s", message);
        size_t n = strlen(clean);
        while (n && (clean[n - 1] == '\n' || clean[n - 1] == '\r')) clean[--n] = '\0';
        json_t *s = json_stringn(clean, n);
        json_object_set_new(o, "message", s ? s : json_string("(unprintable)"));
    }
    log_json(level, o);
}
