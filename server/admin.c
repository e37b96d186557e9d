/*
 * admin.c: the admin CLI. `create` prints only the new id (or the agent key,
 * shown this once) on stdout; `list` prints one tab-separated line per row;
 * messages go to stderr. Passwords come from stdin or a no-echo prompt, never
 * from argv, and are only ever stored as Argon2id hashes. Not here: SQL
 * (store_tenants.c, store_agents.c) or key hashing (auth.c).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/uuid.h"
#include "log.h"
#include "server/admin.h"
#include "server/auth.h"
#include "server/db.h"
#include "server/store_schema.h"
#include "server/store_agents.h"
#include "server/store_apikeys.h"
#include "server/store_tenants.h"

#define ADMIN_MAX_POS 4
#define ADMIN_NAME_MAX 200
#define ADMIN_EMAIL_MAX 254

struct admin_args {
	const char *company, *branch, *email, *role;
	const char *pos[ADMIN_MAX_POS];
	int npos;
};

/* What differs between the four kinds of row: their store functions. */
struct admin_kind {
	const char *name;
	/* Rows of (id, name, scope, state); company and branch filters or NULL. */
	PGresult *(*list)(PGconn *c, const char *company, const char *branch);
	int (*revoke)(PGconn *c, const char *id);	/* 1 revoked now, 0 not active */
	int (*exists)(PGconn *c, const char *id);
};

/* Companies take no filter (admin_list refuses them). */
static PGresult *
admin_company_list(PGconn *c, const char *company, const char *branch)
{
	(void)branch;
	return store_tenants_company_list(c, company);
}

static const struct admin_kind admin_kinds[] = {
	{ "company", admin_company_list, store_tenants_company_revoke,
	  store_tenants_company_exists },
	{ "branch", store_tenants_branch_list, store_tenants_branch_revoke,
	  store_tenants_branch_exists },
	{ "user", store_tenants_user_list, store_tenants_user_revoke,
	  store_tenants_user_exists },
	{ "agent", store_agents_list_rows, store_agents_revoke, store_agents_exists },
	{ "apikey", store_apikeys_list_rows, store_apikeys_revoke, store_apikeys_exists },
};

static struct termios admin_tty_saved;
static volatile sig_atomic_t admin_tty_changed;

void
admin_usage(FILE *f)
{
	fprintf(f,
	    "usage: printmaster-server admin company create NAME\n"
	    "       printmaster-server admin company list\n"
	    "       printmaster-server admin company revoke ID\n"
	    "       printmaster-server admin branch create --company ID NAME\n"
	    "       printmaster-server admin branch list [--company ID]\n"
	    "       printmaster-server admin branch revoke ID\n"
	    "       printmaster-server admin user create --company ID [--branch ID] --email EMAIL\n"
	    "                                            --role admin|viewer\n"
	    "       printmaster-server admin user list [--company ID] [--branch ID]\n"
	    "       printmaster-server admin user revoke ID\n"
	    "       printmaster-server admin agent create --branch ID NAME\n"
	    "       printmaster-server admin agent list [--company ID] [--branch ID]\n"
	    "       printmaster-server admin agent revoke ID\n"
	    "       printmaster-server admin apikey create --company ID [--branch ID] NAME\n"
	    "       printmaster-server admin apikey list [--company ID] [--branch ID]\n"
	    "       printmaster-server admin apikey revoke ID\n"
	    "\n"
	    "Works against the configured database (database_url), migrating it first.\n"
	    "create prints the new id on stdout; agent create prints the agent key\n"
	    "(pmk_...) and apikey create the integration key (pmi_...), each shown\n"
	    "only this once. user create reads the password\n"
	    "from stdin (one line), or prompts without echo on a terminal; at least %d\n"
	    "and at most %d bytes. list prints tab-separated lines: id, name or email,\n"
	    "scope, state. revoke ends every credential of the row at once (a company\n"
	    "or branch: every user and agent key bound to it).\n"
	    "Exit status: 0 done, 1 failed, 2 usage.\n", AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
}

static int
admin_parse(int argc, char **argv, struct admin_args *a)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		static const char *const names[] = { "--company", "--branch", "--email",
		    "--role" };
		const char **dst[] = { &a->company, &a->branch, &a->email, &a->role };
		const char *arg = argv[i];
		int k;

		if (strncmp(arg, "--", 2) != 0) {
			if (a->npos >= ADMIN_MAX_POS) {
				fprintf(stderr, "admin: too many arguments\n");
				return -1;
			}
			a->pos[a->npos++] = arg;
			continue;
		}
		for (k = 0; k < 4; k++) {
			size_t n = strlen(names[k]);

			if (strncmp(arg, names[k], n) == 0 && (arg[n] == '\0' || arg[n] == '='))
				break;
		}
		if (k == 4) {
			fprintf(stderr, "admin: unknown option %s\n", arg);
			return -1;
		}
		if (strchr(arg, '='))
			*dst[k] = strchr(arg, '=') + 1;
		else if (i + 1 < argc)
			*dst[k] = argv[++i];
		else {
			fprintf(stderr, "admin: %s needs a value\n", arg);
			return -1;
		}
	}
	return 0;
}

/* A UUID argument in canonical form; prints why not. */
static int
admin_id(const char *what, const char *s, char out[UUID_TEXT_LEN + 1])
{
	if (s && uuid_norm(s, out, UUID_TEXT_LEN + 1) == 0)
		return 0;
	fprintf(stderr, "admin: %s must be an id (a UUID), got '%s'\n", what, s ? s : "");
	return -1;
}

/* After a store function failed: say so (the statement's error is logged). */
static int
admin_db_failed(PGconn *c)
{
	fprintf(stderr, "admin: database error: %s", PQerrorMessage(c));
	return 1;
}

/* The outcome of a create: print the new id (1), or why there is none. */
static int
admin_created(PGconn *c, int rc, const char *id, const char *not_found_msg)
{
	if (rc < 0)
		return admin_db_failed(c);
	if (rc == 0) {
		fprintf(stderr, "admin: %s\n", not_found_msg);
		return 1;
	}
	printf("%s\n", id);
	return 0;
}

static void
admin_tty_restore(int sig)
{
	if (admin_tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &admin_tty_saved);
	if (sig)
		_exit(130);
}

/* Read one line without its newline; -1 on EOF or when it is too long. */
static int
admin_read_line(char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin))
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(stdin))
		return -1;	/* longer than the buffer */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

static int
admin_prompt(const char *prompt, char *buf, size_t len)
{
	struct termios t;
	int rc;

	/* Echo goes off before the prompt shows, so nothing typed after it
	 * can appear on the screen. */
	if (tcgetattr(STDIN_FILENO, &admin_tty_saved) == 0) {
		t = admin_tty_saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		admin_tty_changed = 1;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
	}
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	rc = admin_read_line(buf, len);
	admin_tty_restore(0);
	admin_tty_changed = 0;
	fprintf(stderr, "\n");
	return rc;
}

static int
admin_read_password(char *pw, size_t len)
{
	char again[AUTH_PASSWORD_MAX + 2];
	int rc = -1;

	if (isatty(STDIN_FILENO)) {
		sigset_t sigs;

		/* main blocked these for the server; a prompt must stay
		 * interruptible, and must not leave the terminal without echo. */
		signal(SIGINT, admin_tty_restore);
		signal(SIGTERM, admin_tty_restore);
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
		pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
		if (admin_prompt("Password: ", pw, len) < 0 ||
		    admin_prompt("Repeat password: ", again, sizeof(again)) < 0) {
			fprintf(stderr, "admin: no password read\n");
			goto out;
		}
		if (strlen(pw) != strlen(again) ||
		    sodium_memcmp(pw, again, strlen(pw)) != 0) {
			fprintf(stderr, "admin: the passwords differ\n");
			goto out;
		}
	} else if (admin_read_line(pw, len) < 0) {
		fprintf(stderr, "admin: no password on stdin (one line, at most %d bytes)\n",
		    AUTH_PASSWORD_MAX);
		goto out;
	}
	if (strlen(pw) < AUTH_PASSWORD_MIN || strlen(pw) > AUTH_PASSWORD_MAX) {
		fprintf(stderr, "admin: the password must be %d to %d bytes\n",
		    AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(again, sizeof(again));
	return rc;
}

static int
admin_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= 1 && n <= ADMIN_NAME_MAX)
		return 1;
	fprintf(stderr, "admin: a name of 1 to %d bytes is required\n", ADMIN_NAME_MAX);
	return 0;
}

static int
admin_email_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *at = s ? strchr(s, '@') : NULL;

	if (n >= 3 && n <= ADMIN_EMAIL_MAX && at && at != s && at[1] &&
	    strpbrk(s, " \t\r\n") == NULL)
		return 1;
	fprintf(stderr, "admin: --email must be an email address (at most %d bytes)\n",
	    ADMIN_EMAIL_MAX);
	return 0;
}

static int
admin_company_create(PGconn *c, const struct admin_args *a)
{
	char id[STORE_ID_LEN + 1];

	if (a->npos != 1 || a->company || a->branch || a->email || a->role) {
		fprintf(stderr, "admin: usage: admin company create NAME\n");
		return 2;
	}
	if (!admin_name_ok(a->pos[0]))
		return 2;
	return admin_created(c, store_tenants_company_create(c, a->pos[0], id), id,
	    "company not created");
}

static int
admin_branch_create(PGconn *c, const struct admin_args *a)
{
	char cid[UUID_TEXT_LEN + 1], id[STORE_ID_LEN + 1];

	if (a->npos != 1 || !a->company || a->branch || a->email || a->role) {
		fprintf(stderr, "admin: usage: admin branch create --company ID NAME\n");
		return 2;
	}
	if (admin_id("--company", a->company, cid) < 0 || !admin_name_ok(a->pos[0]))
		return 2;
	return admin_created(c, store_tenants_branch_create(c, cid, a->pos[0], id), id,
	    "no active company with that id");
}

static int
admin_user_create(PGconn *c, const struct admin_args *a)
{
	char cid[UUID_TEXT_LEN + 1], bid[UUID_TEXT_LEN + 1] = "", hash[crypto_pwhash_STRBYTES];
	char pw[AUTH_PASSWORD_MAX + 2], id[STORE_ID_LEN + 1];
	int rc = 1;

	if (a->npos != 0 || !a->company || !a->email || !a->role) {
		fprintf(stderr, "admin: usage: admin user create --company ID [--branch ID] "
		    "--email EMAIL --role admin|viewer (password on stdin)\n");
		return 2;
	}
	if (admin_id("--company", a->company, cid) < 0 ||
	    (a->branch && admin_id("--branch", a->branch, bid) < 0) ||
	    !admin_email_ok(a->email))
		return 2;
	if (strcmp(a->role, "admin") != 0 && strcmp(a->role, "viewer") != 0) {
		fprintf(stderr, "admin: --role must be admin or viewer\n");
		return 2;
	}
	if (admin_read_password(pw, sizeof(pw)) < 0) {
		rc = 2;
		goto out;
	}
	if (auth_password_hash(pw, hash) < 0) {
		fprintf(stderr, "admin: could not hash the password (out of memory)\n");
		goto out;
	}
	rc = store_tenants_user_create(c, cid, bid[0] ? bid : NULL, a->email, a->role, hash,
	    id);
	if (rc == STORE_TENANTS_DUPLICATE) {
		fprintf(stderr, "admin: a user with that email already exists\n");
		rc = 1;
	} else
		rc = admin_created(c, rc, id, "no active company (and branch of it) with "
		    "those ids");
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/* The outcome of creating a keyed row: print the key (shown this once). */
static int
admin_key_created(PGconn *c, int rc, const char *what, const char *id, const char *key,
    const char *not_found_msg)
{
	if (rc < 0)
		return admin_db_failed(c);
	if (rc == 0) {
		fprintf(stderr, "admin: %s\n", not_found_msg);
		return 1;
	}
	fprintf(stderr, "admin: %s %s created; the key below is shown only once\n", what, id);
	printf("%s\n", key);
	return 0;
}

static int
admin_agent_create(PGconn *c, const struct admin_args *a)
{
	char bid[UUID_TEXT_LEN + 1], key[AUTH_KEY_LEN + 1], hash[AUTH_KEY_HASH_LEN + 1];
	char id[STORE_ID_LEN + 1];
	int rc;

	if (a->npos != 1 || !a->branch || a->company || a->email || a->role) {
		fprintf(stderr, "admin: usage: admin agent create --branch ID NAME\n");
		return 2;
	}
	if (admin_id("--branch", a->branch, bid) < 0 || !admin_name_ok(a->pos[0]))
		return 2;
	if (auth_key_new(AUTH_KEY_PREFIX, key, hash) < 0)
		return 1;
	rc = admin_key_created(c, store_agents_create(c, bid, a->pos[0], hash, id), "agent",
	    id, key, "no active branch with that id");
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
admin_apikey_create(PGconn *c, const struct admin_args *a)
{
	char cid[UUID_TEXT_LEN + 1], bid[UUID_TEXT_LEN + 1] = "", key[AUTH_KEY_LEN + 1];
	char hash[AUTH_KEY_HASH_LEN + 1], id[STORE_ID_LEN + 1];
	int rc;

	if (a->npos != 1 || !a->company || a->email || a->role) {
		fprintf(stderr, "admin: usage: admin apikey create --company ID [--branch ID] "
		    "NAME\n");
		return 2;
	}
	if (admin_id("--company", a->company, cid) < 0 ||
	    (a->branch && admin_id("--branch", a->branch, bid) < 0) ||
	    !admin_name_ok(a->pos[0]))
		return 2;
	if (auth_key_new(AUTH_INTEGRATION_PREFIX, key, hash) < 0)
		return 1;
	rc = admin_key_created(c, store_apikeys_create(c, cid, bid[0] ? bid : NULL,
	    a->pos[0], hash, id), "integration key", id, key,
	    "no active company (and branch of it) with those ids");
	sodium_memzero(key, sizeof(key));
	return rc;
}

static int
admin_list(PGconn *c, const struct admin_kind *k, const struct admin_args *a)
{
	char cid[UUID_TEXT_LEN + 1] = "", bid[UUID_TEXT_LEN + 1] = "";
	PGresult *res;

	if (a->npos != 0 || a->email || a->role ||
	    (strcmp(k->name, "company") == 0 && (a->company || a->branch))) {
		fprintf(stderr, "admin: usage: admin %s list%s\n", k->name,
		    strcmp(k->name, "company") == 0 ? "" : " [--company ID] [--branch ID]");
		return 2;
	}
	if ((a->company && admin_id("--company", a->company, cid) < 0) ||
	    (a->branch && admin_id("--branch", a->branch, bid) < 0))
		return 2;
	if ((res = k->list(c, cid[0] ? cid : NULL, bid[0] ? bid : NULL)) == NULL)
		return admin_db_failed(c);
	for (int i = 0; i < PQntuples(res); i++)
		printf("%s\t%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
	PQclear(res);
	return 0;
}

static int
admin_revoke(PGconn *c, const struct admin_kind *k, const struct admin_args *a)
{
	char id[UUID_TEXT_LEN + 1];
	int n;

	if (a->npos != 1 || a->company || a->branch || a->email || a->role) {
		fprintf(stderr, "admin: usage: admin %s revoke ID\n", k->name);
		return 2;
	}
	if (admin_id("the id", a->pos[0], id) < 0)
		return 2;
	if ((n = k->revoke(c, id)) < 0)
		return admin_db_failed(c);
	if (n == 1) {
		log_info("[API] admin revoked %s %s", k->name, id);
		return 0;
	}
	if ((n = k->exists(c, id)) < 0)
		return admin_db_failed(c);
	if (n == 0) {
		fprintf(stderr, "admin: no %s with id %s\n", k->name, id);
		return 1;
	}
	fprintf(stderr, "admin: %s %s was already revoked\n", k->name, id);
	return 0;
}

int
admin_main(int argc, char **argv)
{
	const struct admin_kind *k = NULL;
	struct admin_args a;
	const char *verb;
	PGconn *c;
	int rc;

	if (argc < 3) {
		admin_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(admin_kinds) / sizeof(admin_kinds[0]); i++)
		if (strcmp(argv[1], admin_kinds[i].name) == 0)
			k = &admin_kinds[i];
	verb = argv[2];
	if (!k || (strcmp(verb, "create") && strcmp(verb, "list") && strcmp(verb, "revoke"))) {
		fprintf(stderr, "admin: unknown command '%s %s' (see admin --help)\n", argv[1],
		    verb);
		return 2;
	}
	if (admin_parse(argc - 3, argv + 3, &a) < 0)
		return 2;
	if ((c = db_connect()) == NULL) {
		fprintf(stderr, "admin: cannot connect to the database\n");
		return 1;
	}
	if (store_schema_migrate(c) < 0) {
		fprintf(stderr, "admin: cannot migrate the database\n");
		PQfinish(c);
		return 1;
	}
	if (strcmp(verb, "list") == 0)
		rc = admin_list(c, k, &a);
	else if (strcmp(verb, "revoke") == 0)
		rc = admin_revoke(c, k, &a);
	else if (k == &admin_kinds[0])
		rc = admin_company_create(c, &a);
	else if (k == &admin_kinds[1])
		rc = admin_branch_create(c, &a);
	else if (k == &admin_kinds[2])
		rc = admin_user_create(c, &a);
	else if (k == &admin_kinds[3])
		rc = admin_agent_create(c, &a);
	else
		rc = admin_apikey_create(c, &a);
	PQfinish(c);
	fflush(stdout);
	return rc;
}
