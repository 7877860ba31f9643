/*
 * postage-verify - check Hashcash stamps as hashcash 1.22 does, and spend
 * them in a double-spend store.
 *
 * Stamps come from the arguments, else one per line on stdin, or with
 * --message from the X-Hashcash: headers of a message on stdin.  Each gets
 * one line: the stamp and one verdict (ok, syntax, resource, bits, expired,
 * future, spent), or a JSON object with --json.  Unlike hashcash 1.22 the
 * required bits default to 20, so a forged claim never passes by default,
 * and options apply wherever they stand on the command line.
 */
#include "config.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/cli.h"
#include "util/cli_argon2.h"
#include "postage.h"

#define MAX_RESOURCES 1024
#define MAX_HEADER_BLOCK (1024 * 1024)

struct run {
    struct postage_check_options opt;
    const char *resources[MAX_RESOURCES];
    unsigned char paid[MAX_RESOURCES];
    int json;
    int message;
    unsigned ok_count;
    unsigned checked;      /* stamps checked, whatever the verdict */
    uint32_t work_memory;  /* KiB of opt.argon2id_work (0: none yet) */
};

static void
usage(FILE *out)
{
    fprintf(out,
"Usage: postage-verify [OPTION]... [STAMP]...\n"
"Check Hashcash stamps (v1 and v0) and print one verdict per stamp:\n"
"ok, syntax, resource, bits, expired, future, spent, kind or params.\n"
"Stamps come from the arguments, else one per line on standard input.\n"
"\n"
"  -b, --bits BITS        required value in bits, 0-160 (default 20)\n"
"  -r, --resource RES     accept stamps for RES (repeatable; first match\n"
"                         wins); without -r the resource is not checked\n"
"      --wildcard         RES may use hashcash wildcards: '*' in the user\n"
"                         part, '*' per domain label (*@*.example.org)\n"
"      --case-sensitive   compare resources with case (default: ignore it)\n"
"  -e, --validity PERIOD  how long a stamp stays valid (default 28d; 0: forever)\n"
"  -g, --grace PERIOD     clock-skew allowance at both ends (default 2d)\n"
"                         PERIOD: N[s|m|h|d|w|M|y], e.g. 28d, 2h, 90m, 3600\n"
"      --now YYMMDD[hhmm[ss]]  check as if it were this UTC time\n"
"  -d, --db STORE         spend every ok stamp in the double-spend store STORE:\n"
"                         an LMDB directory (made by --create), or Redis:\n"
"                         redis://[:PASSWORD@]HOST[:PORT][/DB][?prefix=P],\n"
"                         redis+unix:///SOCKET[?db=N], or\n"
"                         redis+sentinel://HOST:PORT[,...]/MASTER[/DB];\n"
"                         a stamp already there is 'spent'\n"
"      --create           with --db: create the LMDB store if the directory\n"
"                         holds none (never over a lost one); with no stamps,\n"
"                         just that\n"
"      --purge            with --db: drop entries past expiry + grace first\n"
"      --argon2id         accept Argon2id stamps too (EXT a2id=m..,t..,p..;\n"
"                         docs/argon2id.md); -b is then in SHA-1 bits, an\n"
"                         Argon2id stamp worth bits + 8 + log2(KiB x passes);\n"
"                         without it they are refused as 'kind'\n"
"      --max-memory KIB   largest Argon2id memory accepted (default 65536)\n"
"      --max-passes N     most Argon2id passes accepted (default 3)\n"
"      --max-lanes N      most Argon2id lanes accepted (default 4)\n"
"      --min-bits N       fewest claimed Argon2id bits accepted (default 4);\n"
"                         stamps outside these bounds are refused as\n"
"                         'params' before anything is computed\n"
"      --argon2id-backend auto|libargon2|libsodium|postage  which code\n"
"                         computes Argon2id (auto: postage where a vector\n"
"                         kernel (avx512, avx2, neon) runs, else libargon2;\n"
"                         libsodium does one lane, more go to auto's choice)\n"
"      --argon2-kernel NAME  postage's Argon2 kernel (also\n"
"                         $POSTAGE_ARGON2_KERNEL, ignored with a library\n"
"                         backend); see postage-mint --argon2id --list-kernels\n"
"      --message          read an RFC 5322 message on standard input and check\n"
"                         each X-Hashcash: header (header block only) against\n"
"                         the -r recipients; needs at least one -r\n"
"      --json             one JSON object per stamp instead of a line\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"Exit status: 0 if at least one stamp is ok (with --message: at least one for\n"
"every -r recipient), 1 if not, 2 on a usage or system error, including a\n"
"store that is missing, damaged, lost, full or read-only.\n");
}

static void
print_result(struct run *run, const char *stamp, size_t len,
             const struct postage_check_result *r)
{
    const char *verdict = postage_verdict_name(r->verdict);

    if (!run->json) {
        fwrite(stamp, 1, len, stdout);
        printf(" %s\n", verdict);
        return;
    }
    char when[21];
    fputs("{\"stamp\":", stdout);
    cli_json_string(stdout, stamp, len);
    printf(",\"verdict\":\"%s\",\"value\":%u", verdict,
           r->verdict == POSTAGE_ERR_SYNTAX ? 0 : r->value);
    if (r->verdict == POSTAGE_ERR_SYNTAX) {
        fputs(",\"version\":null,\"claimed\":null,\"actual\":null,\"resource\":null,"
              "\"date\":null,\"expires\":null", stdout);
    } else {
        printf(",\"version\":%u", r->version);
        /* Argon2id stamps say so; a SHA-1 stamp's line is as it always was. */
        if (r->kind == POSTAGE_KIND_ARGON2ID)
            printf(",\"kind\":\"argon2id\",\"memory_kib\":%lu,\"passes\":%lu,\"lanes\":%lu,"
                   "\"computed\":%s,\"sha1_equivalent_bits\":%.2f",
                   (unsigned long) r->argon2id.memory, (unsigned long) r->argon2id.passes,
                   (unsigned long) r->argon2id.lanes, r->computed ? "true" : "false",
                   r->equivalent);
        printf(",\"claimed\":%u,\"actual\":%u,\"resource\":", r->claimed, r->actual);
        cli_json_string(stdout, r->stamp.resource, r->stamp.resource_len);
        if (postage_time_rfc3339(r->date, when) == POSTAGE_OK)
            printf(",\"date\":\"%s\"", when);
        else
            fputs(",\"date\":null", stdout);
        if (r->expires_at != POSTAGE_NEVER_EXPIRES &&
            postage_time_rfc3339(r->expires_at, when) == POSTAGE_OK)
            printf(",\"expires\":\"%s\"", when);
        else
            fputs(",\"expires\":null", stdout);
    }
    if (run->message) {
        fputs(",\"recipient\":", stdout);
        if (r->resource_index >= 0) {
            const char *rcpt = run->resources[r->resource_index];
            cli_json_string(stdout, rcpt, strlen(rcpt));
        } else {
            fputs("null", stdout);
        }
    }
    fputs("}\n", stdout);
}

/* The store specification for messages: a password in a URI
 * ("redis://:PASSWORD@host") is shown as "***". */
static const char *
shown_store(const char *db, char *buf, size_t size)
{
    const char *sep = strstr(db, "://"), *auth, *end, *at = NULL, *p;

    if (sep == NULL)
        return db;
    auth = sep + 3;
    end = auth + strcspn(auth, "/?");
    for (p = auth; p < end; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        return db;
    snprintf(buf, size, "%.*s***%s", (int) (auth - db), db, at);
    return buf;
}

/* Check one stamp and print its line.  Returns 0, or -1 on a store
 * failure (already reported). */
/* One Argon2id work area for the whole run: faulting its memory in again
 * for every stamp would cost as much as checking it (the cost report's
 * verification table).  It is sized to the stamps, not to --max-memory, so
 * that a 64 KiB stamp does not cost 64 MiB: made at the first Argon2id
 * stamp within the bounds (one outside them is refused as params before
 * anything is computed, and needs none), and made anew when a later stamp
 * needs more — at least twice as large, so that rising sizes remake it
 * only a few times, and never above --max-memory.  Without one (its memory
 * could not be had), each check makes its own. */
static void
prepare_argon2id(struct run *run, const char *stamp, size_t len)
{
    const struct postage_argon2id_params *max = &run->opt.argon2id_max;
    struct postage_argon2id_params need;
    struct postage_stamp st;

    if (!(run->opt.kinds & POSTAGE_KIND_ARGON2ID) ||
        postage_stamp_parse(stamp, len, &st) != POSTAGE_OK ||
        postage_argon2id_ext_parse(st.ext, st.ext_len, &need) != 1)
        return;
    if (need.memory > max->memory || need.passes > max->passes || need.lanes > max->lanes ||
        st.claimed < run->opt.argon2id_min_bits || need.memory <= run->work_memory)
        return;
    uint64_t grow = (uint64_t) run->work_memory * 2;
    struct postage_argon2id_params area = { need.memory, 1, 1 };
    if (grow > area.memory)
        area.memory = grow < max->memory ? (uint32_t) grow : max->memory;
    postage_argon2id_work_free(run->opt.argon2id_work);
    run->work_memory = 0;
    if (postage_argon2id_work_new_kernel(&run->opt.argon2id_work, &area,
                                         run->opt.argon2id_backend,
                                         run->opt.argon2id_kernel) != POSTAGE_OK)
        run->opt.argon2id_work = NULL;
    else
        run->work_memory = area.memory;
}

static int
check_one(struct run *run, const char *stamp, size_t len)
{
    struct postage_check_result r;
    prepare_argon2id(run, stamp, len);
    int rc = postage_check(stamp, len, &run->opt, &r);

    if (rc == POSTAGE_ERR_STORE) {
        cli_error("double-spend store: %s", postage_store_error(run->opt.store));
        return -1;
    }
    if (rc < POSTAGE_ERR_PARAMS) {
        cli_error("cannot check stamp: %s", postage_strerror(rc));
        return -1;
    }
    print_result(run, stamp, len, &r);
    run->checked++;
    if (rc == POSTAGE_OK) {
        run->ok_count++;
        if (r.resource_index >= 0)
            run->paid[r.resource_index] = 1;
    }
    return 0;
}

/* Read one line of at most size-1 bytes; the rest of a longer line is
 * dropped and *truncated set.  Returns the length, or -1 at end of input. */
static long
read_line(FILE *in, char *buf, size_t size, int *truncated)
{
    size_t n = 0;
    int c, any = 0;

    *truncated = 0;
    while ((c = getc(in)) != EOF) {
        any = 1;
        if (c == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = (char) c;
        else
            *truncated = 1;
    }
    buf[n] = '\0';
    return any ? (long) n : -1;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
check_stdin_lines(struct run *run)
{
    char line[POSTAGE_STAMP_MAX + 2];
    int truncated;
    long n;

    while ((n = read_line(stdin, line, sizeof line, &truncated)) >= 0) {
        char *s = line;
        while (n > 0 && is_space(s[n - 1]))
            n--;
        while (n > 0 && is_space(*s)) {
            s++;
            n--;
        }
        if (n == 0)
            continue;
        /* An over-long line is reported as what it is: not a stamp. */
        if (check_one(run, s, (size_t) n) != 0)
            return -1;
    }
    return 0;
}

static int
check_message(struct run *run)
{
    char *block = malloc(MAX_HEADER_BLOCK);
    size_t len = 0;
    char line[1024];
    int rc = 0;

    if (block == NULL) {
        cli_error("out of memory");
        return -1;
    }
    /* Read the header block only: up to the first empty line. */
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        if (len + n > MAX_HEADER_BLOCK) {
            cli_error("the message's header block is longer than %d bytes",
                      MAX_HEADER_BLOCK);
            free(block);
            return -1;
        }
        memcpy(block + len, line, n);
        len += n;
        if (strcmp(line, "\n") == 0 || strcmp(line, "\r\n") == 0)
            break;
    }
    size_t pos = 0;
    char stamp[POSTAGE_STAMP_MAX + 2];
    size_t stamp_len;
    int found;
    while ((found = postage_headers_next(block, len, &pos, stamp, sizeof stamp,
                                         &stamp_len)) != 0) {
        /* A stamp too long to hold is checked as cut, which fails it as
         * syntax: it could not be a valid stamp anyway. */
        if (check_one(run, stamp, stamp_len) != 0) {
            rc = -1;
            break;
        }
    }
    free(block);
    return rc;
}

int
main(int argc, char **argv)
{
    enum { OPT_NOW = 256, OPT_WILD, OPT_CASE, OPT_PURGE, OPT_CREATE, OPT_MESSAGE, OPT_JSON,
           OPT_A2ID,
           OPT_MAX_MEMORY, OPT_MAX_PASSES, OPT_MAX_LANES, OPT_MIN_BITS, OPT_A2ID_BACKEND,
           OPT_A2ID_KERNEL };
    static const struct option longopts[] = {
        { "bits", required_argument, NULL, 'b' },
        { "resource", required_argument, NULL, 'r' },
        { "wildcard", no_argument, NULL, OPT_WILD },
        { "case-sensitive", no_argument, NULL, OPT_CASE },
        { "validity", required_argument, NULL, 'e' },
        { "grace", required_argument, NULL, 'g' },
        { "now", required_argument, NULL, OPT_NOW },
        { "db", required_argument, NULL, 'd' },
        { "purge", no_argument, NULL, OPT_PURGE },
        { "create", no_argument, NULL, OPT_CREATE },
        { "message", no_argument, NULL, OPT_MESSAGE },
        { "json", no_argument, NULL, OPT_JSON },
        { "argon2id", no_argument, NULL, OPT_A2ID },
        { "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
        { "max-passes", required_argument, NULL, OPT_MAX_PASSES },
        { "max-lanes", required_argument, NULL, OPT_MAX_LANES },
        { "min-bits", required_argument, NULL, OPT_MIN_BITS },
        { "argon2id-backend", required_argument, NULL, OPT_A2ID_BACKEND },
        { "argon2-kernel", required_argument, NULL, OPT_A2ID_KERNEL },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    static struct run run;
    const char *db = NULL;
    int purge = 0, create = 0, c;
    const char *a2k_given = NULL, *a2k_env = getenv("POSTAGE_ARGON2_KERNEL");
    size_t nres = 0;

    cli_set_program(argv[0]);
    postage_check_options_init(&run.opt, (int64_t) time(NULL));

    while ((c = getopt_long(argc, argv, "b:r:e:g:d:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (cli_parse_unsigned(optarg, POSTAGE_BITS_MAX, &run.opt.required_bits) != 0) {
                cli_error("-b: '%s' is not a number of bits from 0 to %d", optarg,
                          POSTAGE_BITS_MAX);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'r':
            if (nres == MAX_RESOURCES) {
                cli_error("-r: at most %d resources", MAX_RESOURCES);
                return CLI_EXIT_USAGE;
            }
            if (strlen(optarg) > POSTAGE_RESOURCE_MAX) {
                cli_error("-r: resource longer than %d bytes", POSTAGE_RESOURCE_MAX);
                return CLI_EXIT_USAGE;
            }
            run.resources[nres++] = optarg;
            break;
        case OPT_WILD: run.opt.match_flags |= POSTAGE_MATCH_WILDCARD; break;
        case OPT_CASE: run.opt.match_flags |= POSTAGE_MATCH_CASE_SENSITIVE; break;
        case 'e':
        case 'g': {
            int64_t *target = c == 'e' ? &run.opt.validity : &run.opt.grace;
            if (postage_period_parse(optarg, target) != POSTAGE_OK) {
                cli_error("-%c: '%s' is not a period such as 28d, 2h, 90m or 3600", c, optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        }
        case OPT_NOW:
            if (cli_parse_time(optarg, &run.opt.now) != 0) {
                cli_error("--now: '%s' is not a UTC time YYMMDD, YYMMDDhhmm or "
                          "YYMMDDhhmmss", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'd': db = optarg; break;
        case OPT_PURGE: purge = 1; break;
        case OPT_CREATE: create = 1; break;
        case OPT_MESSAGE: run.message = 1; break;
        case OPT_JSON: run.json = 1; break;
        case OPT_A2ID: run.opt.kinds |= POSTAGE_KIND_ARGON2ID; break;
        case OPT_MAX_MEMORY:
        case OPT_MAX_PASSES:
        case OPT_MAX_LANES:
        case OPT_MIN_BITS: {
            unsigned v;
            unsigned max = c == OPT_MAX_LANES ? POSTAGE_A2ID_LANES_MAX
                         : c == OPT_MIN_BITS ? POSTAGE_BITS_MAX : 4294967295u;
            const char *what = c == OPT_MAX_MEMORY ? "--max-memory"
                             : c == OPT_MAX_PASSES ? "--max-passes"
                             : c == OPT_MAX_LANES ? "--max-lanes" : "--min-bits";
            if (cli_parse_unsigned(optarg, max, &v) != 0 || (v == 0 && c != OPT_MIN_BITS)) {
                cli_error("%s: '%s' is not a number from %d to %u", what, optarg,
                          c == OPT_MIN_BITS ? 0 : 1, max);
                return CLI_EXIT_USAGE;
            }
            if (c == OPT_MAX_MEMORY)
                run.opt.argon2id_max.memory = v;
            else if (c == OPT_MAX_PASSES)
                run.opt.argon2id_max.passes = v;
            else if (c == OPT_MAX_LANES)
                run.opt.argon2id_max.lanes = v;
            else
                run.opt.argon2id_min_bits = v;
            break;
        }
        case OPT_A2ID_BACKEND:
            run.opt.argon2id_backend = postage_argon2id_backend_parse(optarg);
            if (run.opt.argon2id_backend < 0) {
                cli_error("--argon2id-backend: '%s' is not auto, libargon2, libsodium or "
                          "postage", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_A2ID_KERNEL: a2k_given = optarg; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        case 'V': printf("postage-verify (postage) %s\n", PACKAGE_VERSION); return CLI_EXIT_OK;
        default:
            fprintf(stderr, "Try 'postage-verify --help' for more information.\n");
            return CLI_EXIT_USAGE;
        }
    }
    run.opt.resources = run.resources;
    run.opt.resource_count = nres;
    /* The environment speaks to every run; only an Argon2id one uses it. */
    if ((a2k_env != NULL && *a2k_env == '\0') || !(run.opt.kinds & POSTAGE_KIND_ARGON2ID))
        a2k_env = NULL;
    if (cli_argon2_kernel_choose(run.opt.argon2id_backend, a2k_given, a2k_env, &run.opt.argon2id_kernel) != 0)
        return CLI_EXIT_USAGE;
    if (purge && db == NULL) {
        cli_error("--purge needs --db PATH");
        return CLI_EXIT_USAGE;
    }
    if (create && db == NULL) {
        cli_error("--create needs --db PATH");
        return CLI_EXIT_USAGE;
    }
    if (run.message && nres == 0) {
        cli_error("--message needs at least one -r RECIPIENT to check the stamps against");
        return CLI_EXIT_USAGE;
    }
    if (run.message && optind < argc) {
        cli_error("--message reads the message on standard input; give no STAMP arguments");
        return CLI_EXIT_USAGE;
    }

    postage_store *store = NULL;
    char db_shown[2048];
    if (db != NULL) {
        char err[POSTAGE_STORE_ERRLEN];
        /* Without POSTAGE_STORE_LAZY: an unreachable Redis fails here.
         * A new LMDB store is made only when asked for: a store that is
         * silently made anew where one was lost would let every stamp
         * spent in it pay again. */
        const char *given = db;
        int rc = postage_store_open(db, create ? 0 : POSTAGE_STORE_NOCREATE, &store, err,
                                    sizeof err);
        db = shown_store(db, db_shown, sizeof db_shown);
        if (rc != POSTAGE_OK) {
            cli_error("cannot open the double-spend store '%s': %s", db, err);
            if (!create && strstr(err, "no store in ") != NULL)
                fprintf(stderr, "%s: to create a new store there: %s --db '%s' --create\n",
                        cli_program(), cli_program(), given);
            return CLI_EXIT_USAGE;
        }
        run.opt.store = store;
        /* "--db DIR --create" at a terminal only creates; with stamps on
         * standard input it checks them too. */
        if (create && !purge && optind >= argc && !run.message && isatty(STDIN_FILENO)) {
            postage_store_close(store);
            return CLI_EXIT_OK;
        }
    }
    int status = CLI_EXIT_OK;
    if (purge) {
        uint64_t removed = 0;
        if (postage_store_purge(store, run.opt.now, run.opt.grace, &removed) != POSTAGE_OK) {
            cli_error("purging '%s': %s", db, postage_store_error(store));
            postage_store_close(store);
            return CLI_EXIT_USAGE;
        }
        fprintf(stderr, "%s: purged %llu expired entries from %s\n", cli_program(),
                (unsigned long long) removed, db);
        if (optind >= argc && !run.message) {
            postage_store_close(store);
            return CLI_EXIT_OK;
        }
    }

    int rc = 0;
    if (run.message) {
        rc = check_message(&run);
    } else if (optind < argc) {
        for (int i = optind; i < argc && rc == 0; i++)
            rc = check_one(&run, argv[i], strlen(argv[i]));
    } else {
        rc = check_stdin_lines(&run);
    }
    if (fflush(stdout) != 0) {
        cli_error("cannot write to standard output");
        rc = -1;
    }
    postage_store_close(store);
    postage_argon2id_work_free(run.opt.argon2id_work);

    if (rc != 0)
        status = CLI_EXIT_USAGE;
    else if (run.message) {
        status = CLI_EXIT_OK;
        for (size_t i = 0; i < nres; i++)
            if (!run.paid[i]) {
                status = CLI_EXIT_FAIL;
                break;
            }
    } else if (create && run.checked == 0 && optind >= argc) {
        status = CLI_EXIT_OK;            /* only created the store */
    } else {
        status = run.ok_count > 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    }
    return status;
}
