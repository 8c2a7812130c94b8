/* Unit tests for lib/log: what lands on stderr is one JSON object per line,
 * with time, level, event and message, control characters and quotes
 * escaped, and whole lines even when threads log at once. stderr is
 * redirected to a temporary file while a test logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static int g_saved_stderr = -1;
static FILE *g_capture;

static void capture_start(void)
{
    fflush(stderr);
    g_capture = tmpfile();
    assert_non_null(g_capture);
    g_saved_stderr = dup(STDERR_FILENO);
    assert_true(g_saved_stderr >= 0);
    assert_true(dup2(fileno(g_capture), STDERR_FILENO) >= 0);
}

/* Restore stderr and return what was written (malloc'd). */
static char *capture_end(size_t *len)
{
    fflush(stderr);
    assert_true(dup2(g_saved_stderr, STDERR_FILENO) >= 0);
    close(g_saved_stderr);
    /* the log wrote through fd 2, not through this FILE: find the end first */
    fseek(g_capture, 0, SEEK_END);
    long n = ftell(g_capture);
    assert_true(n >= 0);
    rewind(g_capture);
    char *text = malloc((size_t)n + 1);
    assert_non_null(text);
    size_t got = fread(text, 1, (size_t)n, g_capture);
    text[got] = '\0';
    fclose(g_capture);
    if (len) *len = got;
    return text;
}

/* The text must be exactly one line: newline-terminated, no other newline,
 * no raw control character. Returns it parsed as a JSON object. */
static json_t *one_json_line(const char *text)
{
    size_t len = strlen(text);
    assert_true(len > 1);
    assert_int_equal(text[len - 1], '\n');
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)text[i] < 0x20) {
            print_error("raw control character 0x%02x at %zu in %s", text[i], i, text);
            fail();
        }
    json_error_t e;
    json_t *o = json_loadb(text, len - 1, JSON_REJECT_DUPLICATES, &e);
    if (!o) print_error("not JSON (%s): %s", e.text, text);
    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* 2024-05-01T12:34:56.789Z */
static void assert_utc_time(const char *t)
{
    assert_non_null(t);
    assert_int_equal(strlen(t), 24);
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (int i = 0; i < 24; i++) {
        if (pattern[i] == 'd')
            assert_true(isdigit((unsigned char)t[i]));
        else
            assert_int_equal(t[i], pattern[i]);
    }
}

static void event_line_has_time_level_event_message(void **state)
{
    (void)state;
    capture_start();
    log_event("warn", "db_reconnect", "connection lost");
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_string_equal(str(o, "level"), "warn");
    assert_string_equal(str(o, "event"), "db_reconnect");
    assert_string_equal(str(o, "message"), "connection lost");
    assert_utc_time(str(o, "time"));
    assert_int_equal(json_object_size(o), 4);
    json_decref(o);
    free(text);
}

static void no_message_no_field_and_null_event_is_empty(void **state)
{
    (void)state;
    capture_start();
    log_event("info", NULL, NULL);
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_string_equal(str(o, "event"), "");
    assert_null(json_object_get(o, "message"));
    assert_string_equal(str(o, "level"), "info");
    json_decref(o);
    free(text);
}

/* Quotes, backslashes and control characters are escaped, and the message
 * reads back exactly; only trailing line ends (as libpq adds) are dropped. */
static void escapes_quotes_and_control_characters(void **state)
{
    (void)state;
    const char *msg = "say \"hi\"\\ then\ttab\r\nnew line\x01\x1f bell\a caf\xc3\xa9";
    capture_start();
    log_event("error", "odd \"event\"\n", msg);
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_string_equal(str(o, "message"), msg);
    assert_string_equal(str(o, "event"), "odd \"event\"\n");
    assert_non_null(strstr(text, "\\\"hi\\\""));
    assert_non_null(strstr(text, "\\t"));
    assert_non_null(strstr(text, "\\u0001"));
    json_decref(o);
    free(text);
}

static void trailing_line_ends_are_dropped(void **state)
{
    (void)state;
    capture_start();
    log_event("error", "db_error", "ERROR:  relation does not exist\n\r\n");
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_string_equal(str(o, "message"), "ERROR:  relation does not exist");
    json_decref(o);
    free(text);
}

/* A message that is not UTF-8 cannot be a JSON string: it is replaced, and
 * the line stays valid JSON. */
static void invalid_utf8_message_is_replaced(void **state)
{
    (void)state;
    capture_start();
    log_event("warn", "bad_bytes", "abc\xff\xfe");
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_string_equal(str(o, "message"), "(unprintable)");
    json_decref(o);
    free(text);
}

/* A very long message is cut, not refused: the line stays one line. */
static void long_message_is_cut(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    capture_start();
    log_event("info", "big", big);
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    const char *m = str(o, "message");
    assert_non_null(m);
    assert_true(strlen(m) > 0 && strlen(m) < sizeof big - 1);
    assert_int_equal(strspn(m, "x"), strlen(m));
    json_decref(o);
    free(text);
}

/* log_json keeps the caller's fields in their order and adds time and level
 * after them (one compact object, no spaces after separators). */
static void json_keeps_fields_in_order(void **state)
{
    (void)state;
    json_t *obj = json_object();
    json_object_set_new(obj, "event", json_string("request"));
    json_object_set_new(obj, "status", json_integer(201));
    json_object_set_new(obj, "path", json_string("/api/v1/agreements"));
    capture_start();
    log_json("info", obj);
    char *text = capture_end(NULL);
    json_t *o = one_json_line(text);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 201);
    assert_string_equal(str(o, "level"), "info");
    assert_utc_time(str(o, "time"));
    static const char start[] = "{\"event\":\"request\",\"status\":201,\"path\":";
    assert_true(strncmp(text, start, sizeof start - 1) == 0);
    const char *path = strstr(text, "\"path\"");
    const char *time = strstr(text, "\"time\"");
    const char *level = strstr(text, "\"level\"");
    assert_true(path < time && time < level);
    json_decref(o);
    free(text);
}

#define LOG_THREADS 4
#define LOG_LINES 2000

static void *log_many(void *arg)
{
    char msg[300];
    memset(msg, 'a' + (int)(intptr_t)arg, sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    for (int i = 0; i < LOG_LINES; i++) log_event("info", "burst", msg);
    return NULL;
}

/* Threads logging at once never mix their lines. */
static void concurrent_lines_stay_whole(void **state)
{
    (void)state;
    pthread_t t[LOG_THREADS];
    capture_start();
    for (intptr_t i = 0; i < LOG_THREADS; i++) pthread_create(&t[i], NULL, log_many, (void *)i);
    for (int i = 0; i < LOG_THREADS; i++) pthread_join(t[i], NULL);
    char *text = capture_end(NULL);
    int lines = 0;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        char saved = end[1];
        end[1] = '\0';
        json_t *o = one_json_line(line);
        const char *m = str(o, "message");
        assert_int_equal(strlen(m), 299);
        assert_int_equal(strspn(m, (char[]){m[0], '\0'}), 299);
        json_decref(o);
        end[1] = saved;
        line = end + 1;
        lines++;
    }
    assert_int_equal(lines, LOG_THREADS * LOG_LINES);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_line_has_time_level_event_message),
        cmocka_unit_test(no_message_no_field_and_null_event_is_empty),
        cmocka_unit_test(escapes_quotes_and_control_characters),
        cmocka_unit_test(trailing_line_ends_are_dropped),
        cmocka_unit_test(invalid_utf8_message_is_replaced),
        cmocka_unit_test(long_message_is_cut),
        cmocka_unit_test(json_keeps_fields_in_order),
        cmocka_unit_test(concurrent_lines_stay_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
