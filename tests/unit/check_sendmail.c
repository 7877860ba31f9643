/*
 * check_sendmail.c - unit tests of postage-sendmail's parts: the sendmail
 * command line as mail programs write it, the configuration (bits per
 * recipient, errors naming their line), the header splitter (what a
 * partial read can be trusted with) and editor (nothing but the stamps
 * added), and the spool's format and locking.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sendmail/sendmail_args.h"
#include "sendmail/sendmail_conf.h"
#include "sendmail/sendmail_headers.h"
#include "sendmail/sendmail_spool.h"
#include "tests/unit/check_main.h"

static struct sm_args
parse(int argc, const char *const *argv)
{
    struct sm_args a;
    const char *err = NULL;
    ck_assert_int_eq(sm_args_parse(argc, argv, &a, &err), 0);
    return a;
}

START_TEST(test_args_mutt)
{
    /* mutt: sendmail -oem -oi -- a@x b@y */
    const char *argv[] = { "sendmail", "-oem", "-oi", "--", "a@x", "b@y", NULL };
    struct sm_args a = parse(6, argv);
    ck_assert_int_eq(a.mode, SM_MODE_DELIVER);
    ck_assert(!a.extract);
    ck_assert(!a.dot_ends);
    ck_assert_int_eq(a.first_recipient, 4);
    ck_assert_int_eq(a.options_end, 3);
}
END_TEST

START_TEST(test_args_php_and_git)
{
    /* PHP's mail(): sendmail -t -i; git send-email: -i -f ADDR rcpt... */
    const char *php[] = { "sendmail", "-t", "-i", NULL };
    struct sm_args a = parse(3, php);
    ck_assert(a.extract);
    ck_assert(!a.dot_ends);
    ck_assert_int_eq(a.first_recipient, 3);
    ck_assert_int_eq(a.n_t_words, 1);
    ck_assert_int_eq(a.t_words[0], 1);

    const char *git[] = { "sendmail", "-i", "-f", "me@example.org", "you@example.net", NULL };
    a = parse(5, git);
    ck_assert_str_eq(a.sender, "me@example.org");
    ck_assert_int_eq(a.first_recipient, 4);
    ck_assert(a.dot_ends == 0);
}
END_TEST

START_TEST(test_args_clusters_and_attached)
{
    const char *argv[] = { "sendmail", "-ti", "-fme@x", "-F", "Me Myself", "-oi", "r@x", NULL };
    struct sm_args a = parse(7, argv);
    ck_assert(a.extract);
    ck_assert(a.t_clustered);
    ck_assert_str_eq(a.sender, "me@x");
    ck_assert_int_eq(a.first_recipient, 6);
    /* "-fbt@x": the letters after f are its argument, not -t. */
    const char *b[] = { "sendmail", "-fbt@x", "r@x", NULL };
    a = parse(3, b);
    ck_assert(!a.extract);
    ck_assert_str_eq(a.sender, "bt@x");
    ck_assert(a.dot_ends);
}
END_TEST

START_TEST(test_args_modes)
{
    const char *bp[] = { "sendmail", "-bp", NULL };
    ck_assert_int_eq(parse(2, bp).mode, SM_MODE_OTHER);
    const char *bs[] = { "sendmail", "-bs", NULL };
    ck_assert_int_eq(parse(2, bs).mode, SM_MODE_OTHER);
    const char *q[] = { "sendmail", "-q", NULL };
    ck_assert_int_eq(parse(2, q).mode, SM_MODE_OTHER);
    const char *bm[] = { "sendmail", "-bm", "a@x", NULL };
    ck_assert_int_eq(parse(3, bm).mode, SM_MODE_DELIVER);
    const char *missing[] = { "sendmail", "-f", NULL };
    struct sm_args a;
    const char *err = NULL;
    ck_assert_int_eq(sm_args_parse(2, missing, &a, &err), -1);
    ck_assert_str_eq(err, "-f");
}
END_TEST

static char dir[256];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "%s/check_sendmail.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_conf_bits_rules)
{
    char path[300], err[512];
    struct smc_conf c;
    snprintf(path, sizeof path, "%s/s.conf", dir);
    write_file(path, "# rules: first match wins\n"
                     "bits = boss@example.org 26\n"
                     "bits = @example.org 22\n"
                     "bits = .example.net 18\n"
                     "default_bits = 21\n"
                     "time_budget = 2m\n"
                     "sendmail = /usr/lib/sendmail\n");
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), 0);
    ck_assert_uint_eq(smc_bits_for(&c, "Boss@Example.org"), 26);
    ck_assert_uint_eq(smc_bits_for(&c, "ann@example.org"), 22);
    ck_assert_uint_eq(smc_bits_for(&c, "ann@mx.example.net"), 18);
    ck_assert_uint_eq(smc_bits_for(&c, "ann@example.net"), 21);   /* .domain: subdomains only */
    ck_assert_uint_eq(smc_bits_for(&c, "local"), 21);
    ck_assert_double_eq(c.time_budget, 120);
    ck_assert_str_eq(c.sendmail, "/usr/lib/sendmail");
    smc_free(&c);
}
END_TEST

/* The published-price keys (issue 19): the defaults pay a postaged on its
 * defaults, and the keys are bounded. */
START_TEST(test_conf_price_keys)
{
    char path[300], err[512];
    struct smc_conf c;
    smc_defaults(&c, "/spool");
    ck_assert_uint_eq(c.default_bits, 20);   /* a postaged on defaults asks at most 20 (the promise) */
    ck_assert_uint_eq(smc_bits_for(&c, "ann@example.org"), 20);
    ck_assert_uint_eq(c.max_bits, 26);
    ck_assert_str_eq(c.dns_server, "system");
    ck_assert_double_eq(c.dns_timeout, 5);
    snprintf(path, sizeof path, "%s/price.conf", dir);
    write_file(path, "max_bits = 30\ndns_server = 127.0.0.1:5353, [::1]:53\ndns_timeout = 500ms\n");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), 0);
    ck_assert_uint_eq(c.max_bits, 30);
    ck_assert_str_eq(c.dns_server, "127.0.0.1:5353, [::1]:53");
    ck_assert_double_eq(c.dns_timeout, 0.5);
    smc_free(&c);
    static const char *const bad[][2] = {
        { "max_bits = 41\n", ":1: '41' is not a number of bits 0-40" },
        { "dns_timeout = 0\n", ":1: '0' is not a time from 1ms to 10m" },
        { "dns_timeout = 11m\n", ":1: '11m' is not a time" },
        { "dns_timeout = 5x\n", ":1: '5x' is not a time" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i][0]);
        smc_defaults(&c, "/spool");
        ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: %s", bad[i][0], err);
        smc_free(&c);
    }
    /* 700ms is under the 10-minute bound once the unit is read */
    write_file(path, "dns_timeout = 700ms\ntime_budget = 1500ms\n");
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), 0);
    ck_assert_double_eq_tol(c.dns_timeout, 0.7, 1e-9);
    ck_assert_double_eq_tol(c.time_budget, 1.5, 1e-9);
    smc_free(&c);
}
END_TEST

START_TEST(test_conf_errors_name_the_line)
{
    char path[300], err[512];
    struct smc_conf c;
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    write_file(path, "default_bits = 20\nbits = example.org 22\n");
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad.conf:2: 'example.org' is not user@domain") != NULL, "%s", err);
    smc_free(&c);
    write_file(path, "bits = * 161\n");
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: '161' is not a number of bits") != NULL, "%s", err);
    smc_free(&c);
    write_file(path, "sendmail = relative/path\n");
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, path, 0, err, sizeof err), -1);
    ck_assert_str_eq(c.sendmail, "/usr/sbin/sendmail");
    smc_free(&c);
    /* A missing optional file is the defaults; a missing named one is not. */
    smc_defaults(&c, "/spool");
    ck_assert_int_eq(smc_load(&c, "/nonexistent/x.conf", 1, err, sizeof err), 0);
    ck_assert_int_eq(smc_load(&c, "/nonexistent/x.conf", 0, err, sizeof err), -1);
    smc_free(&c);
}
END_TEST

/* smh_split on a message and on every prefix of it read as "more may
 * follow": a prefix either says too big or gives the whole message's end. */
static void
split_agrees(const char *msg, size_t want)
{
    size_t len = strlen(msg), end = 99;
    ck_assert_int_eq(smh_split(msg, len, 1, &end), SMH_BLOCK);
    ck_assert_uint_eq(end, want);
    for (size_t p = 0; p <= len; p++) {
        char *copy = malloc(p + 1);   /* exactly p bytes for ASan */
        memcpy(copy, msg, p);
        size_t got = 99;
        if (smh_split(copy, p, 0, &got) == SMH_BLOCK)
            ck_assert_msg(got == want, "prefix %zu of %s gives %zu, not %zu", p, msg, got, want);
        else
            ck_assert_uint_eq(got, 0);
        free(copy);
    }
}

START_TEST(test_headers_split)
{
    split_agrees("To: a@x\nSubject: s\n\nbody\n", 20);
    split_agrees("To: a@x\r\nSubject: s\r\n\r\nbody\r\n", 23);
    split_agrees("To: a@x\n folded\n\nb", 17);
    split_agrees("To: a@x\nnot a field\nbody\n", 8);
    split_agrees("\nbody\n", 1);
    split_agrees("plain text\n", 0);
    split_agrees("To: a@x", 7);

    /* The cases of the 1 MiB cut: a field cut inside its name, which
     * looks like a non-field line, and a field cut after its colon. */
    size_t end;
    const char *cut_name = "To: a@x\nX-Fil";
    ck_assert_int_eq(smh_split(cut_name, strlen(cut_name), 0, &end), SMH_TOO_BIG);
    ck_assert_int_eq(smh_split(cut_name, strlen(cut_name), 1, &end), SMH_BLOCK);
    ck_assert_uint_eq(end, 8);
    const char *cut_value = "To: a@x\nSubject: xxxx";
    ck_assert_int_eq(smh_split(cut_value, strlen(cut_value), 0, &end), SMH_TOO_BIG);
    const char *cut_at_line = "To: a@x\n";
    ck_assert_int_eq(smh_split(cut_at_line, strlen(cut_at_line), 0, &end), SMH_TOO_BIG);
    const char *cut_cr = "To: a@x\r\n\r";
    ck_assert_int_eq(smh_split(cut_cr, strlen(cut_cr), 0, &end), SMH_TOO_BIG);
    /* The empty line was read: the rest of the body does not matter,
     * even when the read ends with it. */
    const char *just = "To: a@x\r\n\r\n";
    ck_assert_int_eq(smh_split(just, strlen(just), 0, &end), SMH_BLOCK);
    ck_assert_uint_eq(end, 11);
    const char *folded_blank = "To: a@x\n \n";
    ck_assert_int_eq(smh_split(folded_blank, strlen(folded_blank), 0, &end), SMH_TOO_BIG);
    const char *done = "To: a@x\n\nbody without its line end";
    ck_assert_int_eq(smh_split(done, strlen(done), 0, &end), SMH_BLOCK);
    ck_assert_uint_eq(end, 9);
}
END_TEST

static char *
built(const char *block, int drop_bcc, const char *const *stamps, size_t n, struct smh_edit *e)
{
    struct smh_buf o = { NULL, 0, 0 };
    ck_assert_int_eq(smh_build(block, strlen(block), drop_bcc, stamps, n, &o, e), 0);
    char *s = malloc(o.len + 1);
    memcpy(s, o.buf, o.len);
    s[o.len] = '\0';
    free(o.buf);
    return s;
}

START_TEST(test_headers_build)
{
    const char *two[] = { "1:8:261206:a@x::c:1", "1:8:261206:b@y::c:2" };
    struct smh_edit e;
    char *s = built("From: me\nTo: a@x,\n b@y\n\n", 0, two, 2, &e);
    ck_assert_str_eq(s, "From: me\nTo: a@x,\n b@y\nX-Hashcash: 1:8:261206:a@x::c:1\n"
                        "X-Hashcash: 1:8:261206:b@y::c:2\n\n");
    ck_assert_int_eq(e.added_eol, 0);
    free(s);
    /* CRLF, from the first line; Bcc dropped only when asked. */
    s = built("To: a@x\r\nBcc: b@y\r\n\r\n", 1, two, 1, &e);
    ck_assert_str_eq(s, "To: a@x\r\nX-Hashcash: 1:8:261206:a@x::c:1\r\n\r\n");
    free(s);
    s = built("To: a@x\r\nBcc: b@y\r\n\r\n", 0, two, 0, &e);
    ck_assert_str_eq(s, "To: a@x\r\nBcc: b@y\r\n\r\n");
    free(s);
    /* No empty line of ours where the block ends at a non-field line... */
    s = built("To: a@x\n", 0, two, 1, &e);
    ck_assert_str_eq(s, "To: a@x\nX-Hashcash: 1:8:261206:a@x::c:1\n");
    free(s);
    /* ... nor a line end after an unterminated last field: the stamps go
     * before it. */
    s = built("To: a@x\nSubject: s", 0, two, 1, &e);
    ck_assert_str_eq(s, "To: a@x\nX-Hashcash: 1:8:261206:a@x::c:1\nSubject: s");
    ck_assert_uint_eq(e.insert_at, 8);
    free(s);
    /* No field at all: stamps first, then an empty line unless the
     * message starts with its own. */
    s = built("", 0, two, 1, &e);
    ck_assert_str_eq(s, "X-Hashcash: 1:8:261206:a@x::c:1\n\n");
    ck_assert_int_eq(e.added_eol, 1);
    free(s);
    s = built("\n", 0, two, 1, &e);
    ck_assert_str_eq(s, "X-Hashcash: 1:8:261206:a@x::c:1\n\n");
    ck_assert_int_eq(e.added_eol, 0);
    free(s);
}
END_TEST

START_TEST(test_conf_directory)
{
    char err[512];
    struct smc_conf c;
    smc_defaults(&c, "/spool");
    /* fopen() takes a directory; the loader must not take it for an
     * empty file, named or optional. */
    ck_assert_int_eq(smc_load(&c, dir, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, dir) != NULL && strstr(err, "is a directory") != NULL, "%s", err);
    ck_assert_int_eq(smc_load(&c, dir, 1, err, sizeof err), -1);
    smc_free(&c);
}
END_TEST

START_TEST(test_spool_round_trip_and_lock)
{
    char spool[300], msgpath[300], path[4096], err[512];
    snprintf(spool, sizeof spool, "%s/spool", dir);
    ck_assert_int_eq(spool_prepare(spool), 0);
    snprintf(msgpath, sizeof msgpath, "%s/msg", dir);
    /* 8-bit, CRLF and a NUL survive byte for byte. */
    static const char msg[] = "Subject: caf\xc3\xa9\r\n\r\nline\r\n\0after nul\r\n";
    int fd = open(msgpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, msg, sizeof msg - 1), (ssize_t) sizeof msg - 1);
    const char *args[] = { "-i", "-f", "a b@x", "--", "r@x" };
    struct spool_source src = { "X-Hashcash: 1:20:x\r\n", 20, fd, 0 };
    ck_assert_int_eq(spool_add(spool, 1, 5, args, &src, path, sizeof path, err, sizeof err), 0);
    close(fd);

    char **list = NULL;
    ck_assert_int_eq(spool_list(spool, &list), 1);
    ck_assert_str_eq(list[0], path);
    struct spool_entry e, e2;
    ck_assert_int_eq(spool_open(path, &e, err, sizeof err), 0);
    ck_assert_int_eq(e.stamped, 1);
    ck_assert_int_eq(e.argc, 6);
    ck_assert_str_eq(e.argv[3], "a b@x");
    ck_assert_str_eq(e.argv[5], "r@x");
    ck_assert_ptr_null(e.argv[6]);
    /* A second worker cannot take it while the first holds it. */
    ck_assert_int_eq(spool_open(path, &e2, err, sizeof err), 1);
    char back[256];
    ssize_t n = read(e.fd, back, sizeof back);
    ck_assert_int_eq(n, 20 + (ssize_t) sizeof msg - 1);
    ck_assert_int_eq(memcmp(back, "X-Hashcash: 1:20:x\r\n", 20), 0);
    ck_assert_int_eq(memcmp(back + 20, msg, sizeof msg - 1), 0);
    spool_close(&e);
    spool_list_free(list, 1);

    /* Damage is reported, not trusted. */
    write_file(path, "postage-spool 1\nstamped 0\nargc 3\na\0");
    ck_assert_int_eq(spool_open(path, &e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "damaged"));
    ck_assert_int_eq(spool_fail(spool, path), 0);
    ck_assert_int_eq(spool_list(spool, &list), 0);
    spool_list_free(list, 0);
}
END_TEST

Suite *
suite(void)
{
    Suite *s = suite_create("sendmail");
    TCase *t = tcase_create("sendmail");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, test_args_mutt);
    tcase_add_test(t, test_args_php_and_git);
    tcase_add_test(t, test_args_clusters_and_attached);
    tcase_add_test(t, test_args_modes);
    tcase_add_test(t, test_conf_bits_rules);
    tcase_add_test(t, test_conf_errors_name_the_line);
    tcase_add_test(t, test_conf_price_keys);
    tcase_add_test(t, test_headers_split);
    tcase_add_test(t, test_headers_build);
    tcase_add_test(t, test_conf_directory);
    tcase_add_test(t, test_spool_round_trip_and_lock);
    suite_add_tcase(s, t);
    return s;
}
