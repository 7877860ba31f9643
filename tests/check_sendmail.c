/*
 * check_sendmail.c - unit tests of postage-sendmail's parts: the sendmail
 * command line as mail programs write it, the configuration (bits per
 * recipient, errors naming their line), and the spool's format and
 * locking.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mint/sendmail_args.h"
#include "mint/sendmail_conf.h"
#include "mint/sendmail_spool.h"

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

int
main(void)
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
    tcase_add_test(t, test_spool_round_trip_and_lock);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
