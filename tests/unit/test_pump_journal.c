/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the pump journal: append/read, reopen, rotation, segment deletion, torn tails,
 * CRC corruption, the size limit. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pump_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int mk_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tp-journal-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int rm_dir(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return 0;
}

static size_t count_segments(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, "seg-", 4) == 0;
    closedir(d);
    return n;
}

/* The newest (or oldest) segment file's path. */
static void segment_path(bool newest, char *out, size_t outlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char best[300] = "";
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "seg-", 4) != 0)
            continue;
        if (!*best || (newest ? strcmp(de->d_name, best) > 0 : strcmp(de->d_name, best) < 0))
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    closedir(d);
    snprintf(out, outlen, "%s/%s", dir, best);
}

static void append_n(pump_journal_t *j, uint64_t batch, int from, int n)
{
    char bufs[64][32];
    tk_str_t recs[64];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++) {
        int len = snprintf(bufs[i], sizeof(bufs[i]), "record-%04d", from + i);
        recs[i] = (tk_str_t){bufs[i], (size_t)len};
    }
    char err[256];
    assert_int_equal(
        pump_journal_append(j, PUMP_KIND_ANALYTICS, batch, recs, (size_t)n, err, sizeof(err)),
        TK_OK);
}

/* Reads everything after @after; checks records are "record-<from..>" in order. Returns count. */
static size_t read_all(pump_journal_t *j, uint64_t after, int from, uint64_t *last)
{
    pump_journal_reader_t *r = pump_journal_reader_new(j);
    pump_journal_entry_t e[16];
    size_t total = 0, n;
    uint64_t prev = after;
    while ((n = pump_journal_read(r, prev, e, 16)) > 0) {
        for (size_t i = 0; i < n; i++) {
            char want[32];
            int len = snprintf(want, sizeof(want), "record-%04d", from + (int)total);
            assert_int_equal(e[i].len, (size_t)len);
            assert_memory_equal(e[i].data, want, (size_t)len);
            assert_true(e[i].seq > prev);
            prev = e[i].seq;
            total++;
        }
    }
    pump_journal_reader_free(r);
    if (last)
        *last = prev;
    return total;
}

static void test_append_read_reopen(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    uint64_t start = pump_journal_head(j);
    assert_int_equal(pump_journal_last_batch(j), 0);
    append_n(j, 7, 0, 3);
    append_n(j, 8, 3, 2);
    assert_int_equal(pump_journal_head(j), start + 5);
    assert_int_equal(pump_journal_last_batch(j), 8);

    pump_journal_reader_t *r = pump_journal_reader_new(j);
    pump_journal_entry_t e[10];
    size_t n = pump_journal_read(r, start, e, 10);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(e[i].seq, start + 1 + i);
        assert_int_equal(e[i].kind, PUMP_KIND_ANALYTICS);
        assert_int_equal(e[i].batch, i < 3 ? 7 : 8);
    }
    /* From a cursor in the middle, and with a small max. */
    n = pump_journal_read(r, start + 2, e, 2);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].seq, start + 3);
    assert_memory_equal(e[0].data, "record-0002", 11);
    assert_int_equal(pump_journal_read(r, start + 5, e, 10), 0);
    pump_journal_reader_free(r);
    assert_false(pump_journal_wait(j, start + 5, 10));
    assert_true(pump_journal_wait(j, start + 4, 10));
    pump_journal_close(j);

    j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(pump_journal_head(j), start + 5);
    assert_int_equal(pump_journal_last_batch(j), 8);
    assert_int_equal(read_all(j, start, 0, NULL), 5);
    append_n(j, 9, 5, 1);
    assert_int_equal(read_all(j, start, 0, NULL), 6);
    pump_journal_close(j);
}

static void test_rotation_and_release(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 4096, 0, err, sizeof(err));
    assert_non_null(j);
    uint64_t start = pump_journal_head(j);
    /* 39 bytes per entry: 4096 bytes is ~105 entries; 400 entries make several segments. */
    for (int b = 0; b < 10; b++)
        append_n(j, (uint64_t)b + 1, b * 40, 40);
    assert_true(count_segments() >= 3);
    uint64_t last;
    assert_int_equal(read_all(j, start, 0, &last), 400);
    assert_int_equal(last, start + 400);
    pump_journal_stats_t st;
    pump_journal_get_stats(j, &st);
    size_t before = st.segments;

    /* Nothing is deleted while a cursor is behind; everything but the newest once all past. */
    pump_journal_release(j, start);
    assert_int_equal(count_segments(), before);
    pump_journal_release(j, start + 200);
    assert_true(count_segments() < before);
    assert_int_equal(read_all(j, start + 200, 200, NULL), 200);
    pump_journal_release(j, start + 400);
    assert_int_equal(count_segments(), 1);
    pump_journal_get_stats(j, &st);
    assert_int_equal(st.segments, 1);
    /* The newest segment keeps the last batch id across a restart. */
    pump_journal_close(j);
    j = pump_journal_open(dir, 4096, 0, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(pump_journal_last_batch(j), 10);
    assert_int_equal(pump_journal_head(j), start + 400);
    pump_journal_close(j);
}

static void test_torn_tail(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    uint64_t start = pump_journal_head(j);
    append_n(j, 1, 0, 4);
    pump_journal_close(j);

    /* A crash in the middle of a write: half a header, then a whole entry with a bad CRC. */
    char path[600];
    segment_path(true, path, sizeof(path));
    struct stat st0;
    stat(path, &st0);
    int fd = open(path, O_WRONLY | O_APPEND);
    unsigned char junk[40] = {11, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1};
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);

    j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    struct stat st1;
    stat(path, &st1);
    assert_int_equal(st1.st_size, st0.st_size);
    assert_int_equal(pump_journal_head(j), start + 4);
    append_n(j, 2, 4, 2);
    assert_int_equal(read_all(j, start, 0, NULL), 6);
    pump_journal_close(j);

    /* A torn header only. */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, junk, 5), 5);
    close(fd);
    j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(pump_journal_head(j), start + 6);
    assert_int_equal(pump_journal_last_batch(j), 2);
    pump_journal_close(j);
}

static void test_crc_in_older_segment(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 4096, 0, err, sizeof(err));
    assert_non_null(j);
    uint64_t start = pump_journal_head(j);
    for (int b = 0; b < 4; b++)
        append_n(j, (uint64_t)b + 1, b * 60, 60);
    assert_true(count_segments() >= 2);
    pump_journal_close(j);

    /* Flip one payload byte of the second entry of the oldest segment. */
    char path[600];
    segment_path(false, path, sizeof(path));
    int fd = open(path, O_RDWR);
    off_t off = PUMP_JOURNAL_HDR + 11 + PUMP_JOURNAL_HDR + 3;
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0xff;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);

    j = pump_journal_open(dir, 4096, 0, err, sizeof(err));
    assert_non_null(j);
    pump_journal_reader_t *r = pump_journal_reader_new(j);
    pump_journal_entry_t e[64];
    uint64_t cur = start;
    size_t total = 0, n;
    bool jumped = false;
    while ((n = pump_journal_read(r, cur, e, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (e[i].seq != cur + 1)
                jumped = true;
            cur = e[i].seq;
        }
        total += n;
    }
    pump_journal_reader_free(r);
    /* The first entry was read, the rest of that segment skipped, the later ones all read. */
    assert_true(jumped);
    assert_true(total > 1 && total < 240);
    assert_int_equal(cur, start + 240);
    pump_journal_stats_t st;
    pump_journal_get_stats(j, &st);
    assert_int_equal(st.crc_errors, 1);
    pump_journal_close(j);
}

static void test_full(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 4096, 2000, err, sizeof(err));
    assert_non_null(j);
    assert_false(pump_journal_full(j));
    append_n(j, 1, 0, 60); /* 60 * 39 bytes > 2000 */
    assert_true(pump_journal_full(j));
    pump_journal_stats_t st;
    pump_journal_get_stats(j, &st);
    assert_true(st.full);
    assert_int_equal(st.full_events, 1);
    pump_journal_close(j);
}

static void test_empty_newest_segment_dropped(void **state)
{
    (void)state;
    char err[256];
    pump_journal_t *j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    uint64_t start = pump_journal_head(j);
    append_n(j, 42, 0, 3);
    pump_journal_close(j);
    /* A crash right after creating the next segment. */
    char path[600];
    snprintf(path, sizeof(path), "%s/seg-%020" PRIu64 ".tpj", dir, start + 4);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    close(fd);
    j = pump_journal_open(dir, 1 << 20, 0, err, sizeof(err));
    assert_non_null(j);
    assert_int_equal(pump_journal_last_batch(j), 42);
    assert_int_equal(pump_journal_head(j), start + 3);
    assert_int_equal(count_segments(), 1);
    pump_journal_close(j);
}

static void test_crc32_vector(void **state)
{
    (void)state;
    assert_int_equal(pump_crc32(0, "123456789", 9), 0xCBF43926u);
}

static void test_open_errors(void **state)
{
    (void)state;
    char err[256] = "";
    assert_null(pump_journal_open("/proc/version/journal", 4096, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/proc/version/journal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_vector),
        cmocka_unit_test_setup_teardown(test_append_read_reopen, mk_dir, rm_dir),
        cmocka_unit_test_setup_teardown(test_rotation_and_release, mk_dir, rm_dir),
        cmocka_unit_test_setup_teardown(test_torn_tail, mk_dir, rm_dir),
        cmocka_unit_test_setup_teardown(test_crc_in_older_segment, mk_dir, rm_dir),
        cmocka_unit_test_setup_teardown(test_full, mk_dir, rm_dir),
        cmocka_unit_test_setup_teardown(test_empty_newest_segment_dropped, mk_dir, rm_dir),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
