/* Unit tests for lib/pathsafe: the static path sanitiser refuses traversal
 * (also in its decoded forms), hidden files, control bytes and backslashes,
 * maps "/" and directories to index.html; content types by extension. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pathsafe.h"

static void ok(const char *path, const char *want)
{
    char out[600];
    int rc = pathsafe_static(path, out, sizeof out);
    if (rc != 0 || strcmp(out, want) != 0) {
        fprintf(stderr, "\"%s\": rc %d, out \"%s\", want \"%s\"\n", path, rc, rc ? "" : out, want);
        fail();
    }
}

static void refused(const char *path)
{
    char out[600];
    if (pathsafe_static(path, out, sizeof out) != -PROBLEM_NOT_FOUND) {
        fprintf(stderr, "\"%s\" was accepted as \"%s\"\n", path, out);
        fail();
    }
}

static void plain_paths(void **state)
{
    (void)state;
    ok("/app.js", "app.js");
    ok("/app/main.js", "app/main.js");
    ok("/organisations/acme", "organisations/acme");
    ok("/a-b_c~d.e.f", "a-b_c~d.e.f");
    ok("/unicodé.txt", "unicodé.txt");
    ok("/file.", "file.");
}

static void index_html(void **state)
{
    (void)state;
    ok("/", "index.html");
    ok("/app/", "app/index.html");
    ok("/a/b/c/", "a/b/c/index.html");
}

/* MHD decodes %XX before the path reaches us, so "%2e%2e" arrives as "..". */
static void traversal(void **state)
{
    (void)state;
    refused("/..");
    refused("/../etc/passwd");
    refused("/app/../../etc/passwd");
    refused("/app/..");
    refused("/app/../");
    refused("/./app.js");
    refused("/app/./x");
    refused("/.");
    refused("/..\\..\\etc\\passwd");
    refused("/app\\..\\x");
    refused("//etc/passwd");
    refused("/app//x");
    refused("/%2e%2e/etc/passwd"); /* undecoded escapes are refused too */
    refused("/..%2fetc");
    refused("/%2E%2E%5Cx");
}

static void hidden_files(void **state)
{
    (void)state;
    refused("/.git/config");
    refused("/.env");
    refused("/app/.htaccess");
    refused("/.well-known/x"); /* every dot-segment: nothing hidden is served */
}

static void control_bytes_and_odd_characters(void **state)
{
    (void)state;
    refused("/a\nb");
    refused("/a\rb");
    refused("/a\tb");
    refused("/a\x01");
    refused("/a\x7f");
    refused("/C:/windows");
    refused("/a:b");
    refused("/\xff\xfe");          /* invalid UTF-8 */
    refused("/a\xc3");             /* cut inside a character */
    refused("/\xc0\xaf");          /* overlong "/" */
    refused("/\xed\xa0\x80");      /* a surrogate */
    refused("/\xf4\x90\x80\x80");  /* past U+10FFFF */
    ok("/\xf0\x9d\x84\x9e", "\xf0\x9d\x84\x9e");
    char nul_inside[] = "/a\0/../../etc";
    ok(nul_inside, "a"); /* a C string ends at NUL: nothing after it is seen */
}

static void not_absolute_or_too_long(void **state)
{
    (void)state;
    refused("");
    refused("app.js");
    refused("../x");
    char out[600];
    assert_int_equal(pathsafe_static(NULL, out, sizeof out), -PROBLEM_NOT_FOUND);
    char path[700];
    path[0] = '/';
    memset(path + 1, 'a', 600);
    path[601] = '\0';
    refused(path);
    /* exactly 512 bytes is allowed, 513 is not */
    memset(path + 1, 'a', 511);
    path[512] = '\0';
    assert_int_equal(pathsafe_static(path, out, sizeof out), 0);
    assert_int_equal(strlen(out), 511);
    path[512] = 'a';
    path[513] = '\0';
    refused(path);
}

static void small_output_buffer(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(pathsafe_static("/", out, sizeof out), 0);
    assert_string_equal(out, "index.html");
    assert_int_equal(pathsafe_static("/abcdefghijklmnopqrstuvwxyz", out, sizeof out), -PROBLEM_NOT_FOUND);
    assert_int_equal(pathsafe_static("/abcdefghij/", out, sizeof out), -PROBLEM_NOT_FOUND); /* + index.html */
    char tiny[8];
    assert_int_equal(pathsafe_static("/a", tiny, sizeof tiny), -PROBLEM_NOT_FOUND);
}

static void content_types(void **state)
{
    (void)state;
    assert_string_equal(pathsafe_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(pathsafe_content_type("a/b/style.css"), "text/css; charset=utf-8");
    assert_string_equal(pathsafe_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(pathsafe_content_type("mod.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(pathsafe_content_type("openapi.json"), "application/json");
    assert_string_equal(pathsafe_content_type("LOGO.SVG"), "image/svg+xml");
    assert_string_equal(pathsafe_content_type("x.png"), "image/png");
    assert_string_equal(pathsafe_content_type("x.webmanifest"), "application/manifest+json");
    assert_string_equal(pathsafe_content_type("x.woff2"), "font/woff2");
    assert_string_equal(pathsafe_content_type("README"), "application/octet-stream");
    assert_string_equal(pathsafe_content_type("a.html/x"), "application/octet-stream");
    assert_string_equal(pathsafe_content_type("x.exe"), "application/octet-stream");
    assert_string_equal(pathsafe_content_type("x.html.bak"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_paths),
        cmocka_unit_test(index_html),
        cmocka_unit_test(traversal),
        cmocka_unit_test(hidden_files),
        cmocka_unit_test(control_bytes_and_odd_characters),
        cmocka_unit_test(not_absolute_or_too_long),
        cmocka_unit_test(small_output_buffer),
        cmocka_unit_test(content_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
