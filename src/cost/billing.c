#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "../core/conf.h"
#include "../core/log.h"
#include "../core/proc.h"
#include "../core/util.h"
#include "billing.h"
#include "focus.h"

/* The billing sample of the example stack (conf/), compiled in. */
extern const char example_billing_csv[];
#define BUILTIN_BILLING	"builtin:example-billing"

struct billing_waiter {
	billing_cb	 cb;
	void		*arg;
};

static struct {
	int		 fd;		/* the sealed image, or -1 */
	char		*signature;	/* the files it was built from */
	int64_t		 rows, bad;
	/* a build under way: its process, image, files and waiters */
	pid_t		 pid;		/* or -1 */
	int		 memfd;
	char		*building;	/* its signature */
	int		 pipe;		/* it answers on */
	struct event	*ev;		/* for that */
	char		 line[600];
	size_t		 linelen;
	struct billing_waiter *waiting;
	size_t		 nwaiting;
} img = { .fd = -1, .pid = -1, .memfd = -1, .pipe = -1 };

static int
focus_name(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && ((l > 4 && strcmp(n + l - 4, ".csv") == 0) ||
	    (l > 7 && strcmp(n + l - 7, ".csv.gz") == 0));
}

static void
add_file(struct json_object *files, FILE *sig, const char *path,
    const struct stat *st)
{
	json_object_array_add(files, json_object_new_string(path));
	if (sig != NULL)
		fprintf(sig, "%s:%lld:%lld\n", path, (long long)st->st_size,
		    (long long)st->st_mtime);
}

int
billing_files(const struct strlist *paths, struct json_object *files, FILE *sig,
    char *why, size_t whylen)
{
	struct stat st;
	char path[4096];
	size_t i;

	for (i = 0; i < paths->n; i++) {
		const char *p = paths->v[i];

		if (strncmp(p, "builtin:", 8) == 0) {
			if (strcmp(p, BUILTIN_BILLING) != 0)
				return errorf(why, whylen, "%s: not built in (there is"
				    " %s)", p, BUILTIN_BILLING);
			json_object_array_add(files, json_object_new_string(p));
			if (sig != NULL)
				fprintf(sig, "%s\n", p);
			continue;
		}
		/* File names appear in answers (sources, bad rows): UTF-8 only. */
		if (!utf8_valid(p, strlen(p)))
			return errorf(why, whylen, "a billing path is not UTF-8");
		if (stat(p, &st) == -1)
			return errorf(why, whylen, "%s: %s", p, strerror(errno));
		if (S_ISDIR(st.st_mode)) {
			char **names;
			size_t n, k;

			if (dir_names(p, focus_name, &names, &n) == -1)
				return errorf(why, whylen, "%s: %s", p, strerror(errno));
			for (k = 0; k < n; k++) {
				if (!utf8_valid(names[k], strlen(names[k]))) {
					dir_names_free(names, n);
					return errorf(why, whylen, "%s: holds a billing"
					    " file whose name is not UTF-8 (rename it)", p);
				}
				snprintf(path, sizeof(path), "%s/%s", p, names[k]);
				if (stat(path, &st) == 0)
					add_file(files, sig, path, &st);
			}
			dir_names_free(names, n);
		} else
			add_file(files, sig, p, &st);
	}
	return 0;
}

int
billing_load(struct focus_store *s, struct json_object *files, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < json_object_array_length(files); i++) {
		const char *p = json_object_get_string(json_object_array_get_idx(files, i));

		if ((strcmp(p, BUILTIN_BILLING) == 0 ? focus_load_buffer(s, p,
		    example_billing_csv, strlen(example_billing_csv), why, whylen) :
		    focus_load_file(s, p, why, whylen)) == -1)
			return -1;
	}
	focus_index(s);
	return 0;
}

/*
 * In the child: the store loaded and its image written to fd; the outcome
 * as one line to out ("ok ROWS BAD" or "error WHY").  It never returns.
 */
static void
build_child(int fd, int out, struct json_object *files)
{
	struct focus_store *s = focus_store_new();
	struct json_object *b, *n;
	char why[512], line[600];
	void *map = MAP_FAILED;
	size_t len = 0;

#ifdef PCM_TEST_HOOKS
	/* Tests hold the build to see the broker go on answering. */
	if (getenv("PCM_TEST_BILLING_DELAY_MS") != NULL)
		usleep((useconds_t)atoi(getenv("PCM_TEST_BILLING_DELAY_MS")) * 1000);
#endif
	if (s == NULL)
		snprintf(line, sizeof(line), "error out of memory");
	else if (billing_load(s, files, why, sizeof(why)) == -1)
		snprintf(line, sizeof(line), "error %s", why);
	/* Written in place, in the memfd: no second copy of the rows. */
	else if (ftruncate(fd, (off_t)(len = focus_store_image_len(s))) == -1 ||
	    (map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
	    MAP_FAILED)
		snprintf(line, sizeof(line), "error the billing image (%zu bytes): %s",
		    len, strerror(errno));
	else if (focus_store_image_fill(s, map, len) == -1)
		snprintf(line, sizeof(line), "error the billing image: inconsistent");
	else {
		b = focus_bad_rows(s);
		json_object_object_get_ex(b, "count", &n);
		snprintf(line, sizeof(line), "ok %zu %lld", focus_count(s),
		    (long long)json_object_get_int64(n));
		json_object_put(b);
	}
	(void)write_all(out, line, strlen(line));
	_exit(0);
}

/* Every descriptor above stderr closed but a and b. */
static void
keep_only(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		(void)close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	(void)close_range((unsigned)hi + 1, ~0U, 0);
}

static void
answer(const struct billing_waiter *w, const char *why)
{
	char err[128];
	int fd;

	if (why == NULL && (fd = dup(img.fd)) == -1) {
		snprintf(err, sizeof(err), "dup: %s", strerror(errno));
		why = err;
	}
	if (why != NULL)
		w->cb(-1, 0, 0, why, w->arg);
	else
		w->cb(fd, img.rows, img.bad, NULL, w->arg);
}

/* Every waiter answered (why, or the image), and the list emptied. */
static void
answer_all(const char *why)
{
	struct billing_waiter *w = img.waiting;
	size_t i, n = img.nwaiting;

	img.waiting = NULL;
	img.nwaiting = 0;
	for (i = 0; i < n; i++)
		answer(&w[i], why);
	free(w);
}

/* The child's line, then its end: the new image, or why not. */
static void
on_built(evutil_socket_t fd, short what, void *arg)
{
	char why[600], how[64];
	long long rows, bad;
	struct stat st;
	ssize_t n;
	int status = 0, ok;

	(void)what;
	(void)arg;
	n = read(fd, img.line + img.linelen, sizeof(img.line) - 1 - img.linelen);
	if (n > 0 && (img.linelen += (size_t)n) < sizeof(img.line) - 1)
		return;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	event_free(img.ev);
	img.ev = NULL;
	close(fd);
	img.line[img.linelen] = '\0';
	if (waitpid(img.pid, &status, 0) == -1)
		status = 0;	/* reaped elsewhere: the line says how it went */
	img.pid = -1;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    sscanf(img.line, "ok %lld %lld", &rows, &bad) == 2;
	if (ok) {
		/* Workers map it; nobody may change it under them. */
		(void)fcntl(img.memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		    F_SEAL_WRITE | F_SEAL_SEAL);
		if (img.fd != -1)
			close(img.fd);
		img.fd = img.memfd;
		free(img.signature);
		img.signature = img.building;
		img.rows = rows;
		img.bad = bad;
		/* Once a load: every worker maps it, its size is memory to plan for. */
		logmsg(LOG_INFO, "billing data: %lld rows (%lld bad) in a %lld-byte"
		    " image shared by the workers", rows, bad, fstat(img.fd, &st) == 0 ?
		    (long long)st.st_size : -1LL);
	} else {
		close(img.memfd);
		free(img.building);
		if (strncmp(img.line, "error ", 6) == 0)
			snprintf(why, sizeof(why), "%s", img.line + 6);
		else {
			proc_describe_exit(status, how, sizeof(how));
			snprintf(why, sizeof(why), "the process loading the billing"
			    " data %s", how);
		}
	}
	img.memfd = -1;
	img.building = NULL;
	answer_all(ok ? NULL : why);
}

/* The build under way stopped: its process, pipe, image and files. */
static void
abandon_build(void)
{
	kill(img.pid, SIGKILL);
	(void)waitpid(img.pid, NULL, 0);
	img.pid = -1;
	if (img.ev != NULL)
		event_free(img.ev);
	img.ev = NULL;
	close(img.pipe);
	close(img.memfd);
	img.memfd = -1;
	free(img.building);
	img.building = NULL;
}

/*
 * A child process loads the files into a memfd the broker made, and says
 * how it went on a pipe: a large export takes seconds, while the broker
 * keeps answering (and its watchdog keeps hearing from it).  sig is
 * taken.  0, or -1 with why.
 */
static int
start_build(struct event_base *base, struct json_object *files, char *sig,
    char *why, size_t whylen)
{
	int p[2];
	pid_t pid;

	if ((img.memfd = memfd_create("pcm-billing", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		free(sig);
		return errorf(why, whylen, "memfd_create: %s", strerror(errno));
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		errorf(why, whylen, "starting the billing loader: %s", strerror(errno));
		close(img.memfd);
		img.memfd = -1;
		free(sig);
		return -1;
	}
	if (pid == 0) {
		/* Only its image and its pipe: no copy of the broker's links
		 * keeps a worker's end from seeing the broker close it. */
		keep_only(img.memfd, p[1]);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		build_child(img.memfd, p[1], files);
	}
	close(p[1]);
	logmsg(LOG_INFO, "billing data: loading %zu file%s in process %d",
	    json_object_array_length(files), json_object_array_length(files) == 1 ?
	    "" : "s", (int)pid);
	img.pid = pid;
	img.building = sig;
	img.linelen = 0;
	img.pipe = p[0];
	if ((img.ev = event_new(base, p[0], EV_READ | EV_PERSIST, on_built,
	    NULL)) == NULL || event_add(img.ev, NULL) == -1) {
		abandon_build();	/* not to be heard from */
		return errorf(why, whylen, "out of memory");
	}
	return 0;
}

void
billing_image(struct event_base *base, const struct conf *c, billing_cb cb,
    void *arg)
{
	struct billing_waiter *nw, w = { cb, arg };
	struct json_object *files;
	char why[512], *sig = NULL;
	size_t siglen = 0;
	FILE *f;
	int rc;

	if (c->billing_focus.n == 0) {
		answer(&w, "no billing data: billing.focus names no FOCUS export");
		return;
	}
	if ((f = open_memstream(&sig, &siglen)) == NULL) {
		answer(&w, "out of memory");
		return;
	}
	files = json_object_new_array();
	rc = billing_files(&c->billing_focus, files, f, why, sizeof(why));
	fclose(f);
	if (rc == 0 && json_object_array_length(files) == 0)
		rc = errorf(why, sizeof(why), "no billing data: billing.focus has no"
		    " .csv or .csv.gz files");
	if (rc == -1 || (img.pid == -1 && img.fd != -1 && img.signature != NULL &&
	    strcmp(img.signature, sig) == 0)) {
		/* An error, or the image as it is. */
		free(sig);
		json_object_put(files);
		answer(&w, rc == -1 ? why : NULL);
		return;
	}
	/* Waits for the build under way, or one started now. */
	if ((nw = reallocarray(img.waiting, img.nwaiting + 1, sizeof(*nw))) == NULL) {
		free(sig);
		json_object_put(files);
		answer(&w, "out of memory");
		return;
	}
	img.waiting = nw;
	img.waiting[img.nwaiting++] = w;
	if (img.pid != -1)
		free(sig);
	else if (start_build(base, files, sig, why, sizeof(why)) == -1)
		answer_all(why);
	json_object_put(files);
}

void
billing_stop(void)
{
	if (img.pid != -1)
		abandon_build();
	answer_all("the broker is stopping");
	if (img.fd != -1)
		close(img.fd);
	img.fd = -1;
	free(img.signature);
	img.signature = NULL;
}
