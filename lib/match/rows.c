/* match/rows.c: rows as PostgreSQL gives them (MATCH_*_COLUMNS in match.h)
 * read into match_*_row_t, and the text of their lists ("12:40,13:60",
 * "1,2,3", a text[] of skill keys and spellings) parsed into arrays of database
 * ids; plus the small sorting helpers the index and the search share. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/internal.h"

/* ---------- columns ---------- */

static int64_t col_int(const PGresult *res, int i, int c)
{
    if (c >= PQnfields(res) || PQgetisnull(res, i, c)) return 0;
    return strtoll(PQgetvalue(res, i, c), NULL, 10);
}

static bool col_bool(const PGresult *res, int i, int c)
{
    return c < PQnfields(res) && !PQgetisnull(res, i, c) && PQgetvalue(res, i, c)[0] == 't';
}

static const char *col_text(const PGresult *res, int i, int c)
{
    if (c >= PQnfields(res) || PQgetisnull(res, i, c)) return NULL;
    return PQgetvalue(res, i, c);
}

/* The column numbers follow MATCH_AGENT_COLUMNS then MATCH_AGENT_QUERY_COLUMNS;
 * a result without the query columns reads them as NULL. */
void match_agent_row_read(const PGresult *res, int i, match_agent_row_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_int(res, i, 0);
    out->discoverable = col_bool(res, i, 1);
    out->remote_ok = col_bool(res, i, 2);
    out->capacity_hours = (int)col_int(res, i, 3);
    int64_t committed = col_int(res, i, 4);
    out->committed_hours = committed > 1000000 ? 1000000 : committed < 0 ? 0 : (int)committed;
    out->packagings = col_text(res, i, 5);
    out->location = col_text(res, i, 6);
    out->location_key = col_text(res, i, 7);
    out->latitude = col_text(res, i, 8);
    out->longitude = col_text(res, i, 9);
    out->purposes = col_text(res, i, 10);
    out->skills = col_text(res, i, 11);
    out->follows = col_text(res, i, 12);
    out->excluded = col_text(res, i, 13);
}

void match_engagement_row_read(const PGresult *res, int i, match_engagement_row_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_int(res, i, 0);
    out->organisation_id = col_int(res, i, 1);
    out->created_us = col_int(res, i, 2);
    out->open = col_bool(res, i, 3);
    out->remote_ok = col_bool(res, i, 4);
    out->hours = (int)col_int(res, i, 5);
    out->packagings = col_text(res, i, 6);
    out->location = col_text(res, i, 7);
    out->location_key = col_text(res, i, 8);
    out->latitude = col_text(res, i, 9);
    out->longitude = col_text(res, i, 10);
    out->purposes = col_text(res, i, 11);
    out->skills = col_text(res, i, 12);
    out->organisation_name = col_text(res, i, 13);
    out->excluded = col_text(res, i, 14);
}

/* ---------- lists ---------- */

void match_parsed_free(match_parsed_t *p)
{
    free(p->energies);
    free(p->ids);
    free(p->excluded);
    free(p->text);
    free(p->strs);
    free(p->m_energies);
    free(p->m_purposes);
    free(p->m_skills);
    free(p->m_pairs);
    free(p->m_names);
    free(p->m_follows);
    memset(p, 0, sizeof *p);
}

bool match_parse_i64(const char **s, int64_t *out)
{
    const char *p = *s;
    int64_t v = 0;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') {
        if (v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    *s = p;
    *out = v;
    return true;
}

/* "1,2,3" (NULL or "" = empty) */
static int parse_ids(const char *text, int64_t **v, uint32_t *n, uint32_t *cap)
{
    *n = 0;
    if (!text || !*text) return 0;
    const char *s = text;
    for (;;) {
        int64_t id;
        if (!match_parse_i64(&s, &id)) return -1;
        if (idmap_grow((void **)v, cap, (size_t)*n + 1, sizeof **v)) return -1;
        (*v)[(*n)++] = id;
        if (*s == '\0') return 0;
        if (*s != ',') return -1;
        s++;
    }
}

/* "purpose:energy,..." */
static int parse_energies(const char *text, match_parsed_t *p)
{
    p->nenergies = 0;
    if (!text || !*text) return 0;
    const char *s = text;
    for (;;) {
        int64_t id, energy;
        if (!match_parse_i64(&s, &id) || *s++ != ':' || !match_parse_i64(&s, &energy)) return -1;
        if (idmap_grow((void **)&p->energies, &p->capenergies, (size_t)p->nenergies + 1,
                       sizeof *p->energies))
            return -1;
        if (energy > 0) { /* energy is 1..100; none is no share at all */
            p->energies[p->nenergies].purpose = id;
            p->energies[p->nenergies].energy = energy > 100 ? 100 : (uint32_t)energy;
            p->nenergies++;
        }
        if (*s == '\0') return 0;
        if (*s != ',') return -1;
        s++;
    }
}

/* A PostgreSQL text[] as its text output writes it: {a,"b c","d\\"e"}
 * (one dimension; an element is quoted when it is empty or holds a space,
 * a comma, a brace, a quote or a backslash, and then backslash-escaped).
 * The elements are unescaped into p->text, NUL-terminated; p->strs[i]
 * points at element i. An unquoted NULL (a null element) is malformed.
 * Cheaper to produce and to read than JSON at a million rows a build. */
static int parse_text_array(const char *text, match_parsed_t *p)
{
    p->nstrs = 0;
    if (!text || !*text) return 0;
    const char *s = text;
    if (*s++ != '{') return -1;
    size_t len = strlen(s);
    uint32_t used = 0;
    if (idmap_grow((void **)&p->text, &p->captext, len + 1, 1)) return -1;
    /* offsets first (p->text may move while growing), pointers at the end */
    uint32_t *offs = NULL, noffs = 0, capoffs = 0;
    if (*s == '}') {
        s++;
    } else {
        for (;;) {
            if (idmap_grow((void **)&offs, &capoffs, (size_t)noffs + 1, sizeof *offs)) goto bad;
            offs[noffs++] = used;
            if (*s == '"') {
                s++;
                while (*s != '"') {
                    if (*s == '\\') s++;
                    if (*s == '\0') goto bad;
                    p->text[used++] = *s++;
                }
                s++;
            } else {
                const char *start = s;
                while (*s && *s != ',' && *s != '}' && *s != '"' && *s != '{') p->text[used++] = *s++;
                if (s == start || (s - start == 4 && strncasecmp(start, "NULL", 4) == 0)) goto bad;
            }
            p->text[used++] = '\0';
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s++ != '}') goto bad;
            break;
        }
    }
    if (*s != '\0' ||
        idmap_grow((void **)&p->strs, &p->capstrs, (size_t)noffs + 1, sizeof *p->strs))
        goto bad;
    for (uint32_t i = 0; i < noffs; i++) p->strs[i] = p->text + offs[i];
    p->nstrs = noffs;
    free(offs);
    return 0;
bad:
    free(offs);
    p->nstrs = 0;
    return -1;
}

/* An agent's skills: its skill keys, {key,...} (sentences never show an
 * agent's spellings). An engagement's: its keys then its spellings, in the
 * same order, {key1,key2,Spelling1,Spelling2}: an even count. */
static int parse_skills(const char *text, match_parsed_t *p, bool with_names)
{
    p->nskills = 0;
    p->names = NULL;
    if (parse_text_array(text, p)) return -1;
    if (!with_names) {
        p->nskills = p->nstrs;
        p->names = p->strs;
        return 0;
    }
    if (p->nstrs % 2) return -1;
    p->nskills = p->nstrs / 2;
    p->names = p->strs + p->nskills;
    return 0;
}

const char *match_parsed_skill_key(const match_parsed_t *p, size_t i)
{
    return i < p->nskills ? p->strs[i] : NULL;
}

const char *match_parsed_skill_name(const match_parsed_t *p, size_t i)
{
    return i < p->nskills ? p->names[i] : NULL;
}

size_t match_parsed_skill_count(const match_parsed_t *p)
{
    return p->nskills;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

int match_parse_agent(const match_agent_row_t *row, match_parsed_t *p)
{
    if (parse_energies(row->purposes, p)) return -1;
    if (parse_skills(row->skills, p, false)) return -1;
    if (parse_ids(row->follows, &p->ids, &p->nids, &p->capids)) return -1;
    if (parse_ids(row->excluded, &p->excluded, &p->nexcluded, &p->capexcluded)) return -1;
    if (p->nexcluded) qsort(p->excluded, p->nexcluded, sizeof *p->excluded, cmp_i64);
    return 0;
}

int match_parse_engagement(const match_engagement_row_t *row, match_parsed_t *p)
{
    if (parse_ids(row->purposes, &p->ids, &p->nids, &p->capids)) return -1;
    if (parse_skills(row->skills, p, true)) return -1;
    if (parse_ids(row->excluded, &p->excluded, &p->nexcluded, &p->capexcluded)) return -1;
    if (p->nexcluded) qsort(p->excluded, p->nexcluded, sizeof *p->excluded, cmp_i64);
    return 0;
}

int match_parsed_reserve(match_parsed_t *p, size_t energies, size_t purposes, size_t skills,
                         size_t follows)
{
    /* m_skills: 2 * skills, an engagement's skill numbers then their labels */
    if (idmap_grow((void **)&p->m_energies, &p->capm_energies, energies + 1,
                   sizeof *p->m_energies) ||
        idmap_grow((void **)&p->m_purposes, &p->capm_purposes, purposes + 1,
                   sizeof *p->m_purposes) ||
        idmap_grow((void **)&p->m_skills, &p->capm_skills, 2 * skills + 1, sizeof *p->m_skills) ||
        idmap_grow((void **)&p->m_pairs, &p->capm_pairs, skills + 1, sizeof *p->m_pairs) ||
        idmap_grow((void **)&p->m_names, &p->capm_names, skills + 1, sizeof *p->m_names) ||
        idmap_grow((void **)&p->m_follows, &p->capm_follows, follows + 1, sizeof *p->m_follows))
        return -1;
    return 0;
}

/* ---------- sorting ---------- */

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_energy(const void *x, const void *y)
{
    const match_energy_t *a = x, *b = y;
    return a->purpose < b->purpose ? -1 : a->purpose > b->purpose;
}

static int cmp_skill_pair(const void *x, const void *y)
{
    const match_skill_pair_t *a = x, *b = y;
    if (a->skill != b->skill) return a->skill < b->skill ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

size_t match_unique_u32(uint32_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

size_t match_unique_energies(match_energy_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_energy);
    size_t k = 1;
    for (size_t i = 1; i < n; i++) {
        if (v[i].purpose != v[k - 1].purpose) v[k++] = v[i];
        else v[k - 1].energy += v[i].energy;
    }
    return k;
}

size_t match_unique_pairs(match_skill_pair_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_skill_pair);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i].skill != v[k - 1].skill) v[k++] = v[i];
    return k;
}

size_t match_unique_i64(int64_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

void match_row_coordinates(const char *latitude, const char *longitude, double *lat, double *lon)
{
    char *end1 = NULL, *end2 = NULL;
    double la = latitude ? strtod(latitude, &end1) : NAN;
    double lo = longitude ? strtod(longitude, &end2) : NAN;
    bool ok = latitude && longitude && *latitude && *longitude && end1 && !*end1 && end2 &&
              !*end2 && la >= -90 && la <= 90 && lo >= -180 && lo <= 180;
    *lat = ok ? la : NAN;
    *lon = ok ? lo : NAN;
}
