/* Endpoint checks for `ctrx hosts check` (see probe.h). */
#include "probe.h"

#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *
probe_dir_registry(const char *dir_name)
{
  char *name = xstrdup(dir_name);
  size_t len = strlen(name);
  char *sep = NULL;

  /* host_port_ -> host:port */
  if (len > 2 && name[len - 1] == '_') {
    for (char *p = name + len - 2; p > name && *p >= '0' && *p <= '9'; p--)
      if (p[-1] == '_')
        sep = p - 1;
    if (sep != NULL) {
      *sep = ':';
      name[len - 1] = '\0';
    }
  }
  return name;
}

/* The names of the host directories in dir, sorted, into names. */
static void
host_dir_names(const char *dir, struct strv *names)
{
  DIR *d = opendir(dir);
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir(d)) != NULL) {
    cleanup_free char *path = NULL;
    struct stat st;
    if (de->d_name[0] == '.' || strcmp(de->d_name, "_default") == 0)
      continue;
    path = xasprintf("%s/%s", dir, de->d_name);
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
      continue;
    strv_push(names, de->d_name);
  }
  closedir(d);
  if (names->n > 1)
    qsort(names->v, names->n, sizeof(char *), str_ptr_cmp);
}

void
probe_registries_in(const struct strv *dirs, struct strv *out)
{
  for (size_t i = 0; i < dirs->n; i++) {
    cleanup_strv struct strv names = STRV_INIT;

    host_dir_names(dirs->v[i], &names);
    for (size_t k = 0; k < names.n; k++) {
      char *name = probe_dir_registry(names.v[k]);
      if (strv_contains(out, name))
        free(name);
      else
        strv_push_owned(out, name);
    }
  }
}

void
probe_registry_init(struct probe_registry *c, const char *name, const struct strv *dirs,
                    const struct endpoints_opts *o)
{
  struct error *e = NULL;
  struct registry_ep *eps;

  memset(c, 0, sizeof(*c));
  c->name = xstrdup(name);
  if (hosts_resolve(c->name, dirs, &c->hc, &e) < 0) {
    c->error = xstrdup(e->msg);
    error_free(e);
    return;
  }
  eps = endpoints_from_hosts(&c->hc, o, &c->n_eps);
  c->eps = xcalloc(c->n_eps ? c->n_eps : 1, sizeof(*c->eps));
  for (size_t k = 0; k < c->n_eps; k++)
    c->eps[k].ep = eps[k]; /* handed over */
  free(eps);
}

void
probe_registry_release(struct probe_registry *c)
{
  for (size_t k = 0; k < c->n_eps; k++) {
    registry_probe_release(&c->eps[k].res);
    registry_ep_release(&c->eps[k].ep);
  }
  free(c->eps);
  hosts_config_release(&c->hc);
  free(c->error);
  free(c->name);
  memset(c, 0, sizeof(*c));
}

struct probe_job {
  struct registry *reg;
  struct probe_endpoint *pe;
  pthread_t thread;
  bool started;
};

static void *
probe_run(void *arg)
{
  struct probe_job *j = arg;

  registry_probe(j->reg, &j->pe->ep, &j->pe->res);
  return NULL;
}

void
probe_all(struct registry *reg, struct probe_registry *regs, size_t n)
{
  size_t n_jobs = 0, k = 0;
  struct probe_job *jobs;

  for (size_t i = 0; i < n; i++)
    n_jobs += regs[i].n_eps;
  jobs = xcalloc(n_jobs ? n_jobs : 1, sizeof(*jobs));
  for (size_t i = 0; i < n; i++)
    for (size_t e = 0; e < regs[i].n_eps; e++)
      jobs[k++] = (struct probe_job){.reg = reg, .pe = &regs[i].eps[e]};
  /* Every endpoint at once: the slowest decides how long this takes. */
  for (k = 0; k < n_jobs; k++) {
    jobs[k].started = pthread_create(&jobs[k].thread, NULL, probe_run, &jobs[k]) == 0;
    if (!jobs[k].started)
      probe_run(&jobs[k]);
  }
  for (k = 0; k < n_jobs; k++)
    if (jobs[k].started)
      pthread_join(jobs[k].thread, NULL);
  free(jobs);
}

const char *
probe_verdict(const struct registry_probe *p)
{
  if (!p->alive)
    return "dead";
  return p->latency_ms > PROBE_SLOW_MS ? "slow" : "ok";
}

size_t
probe_answering(const struct probe_registry *c)
{
  size_t n = 0;

  for (size_t i = 0; i < c->n_eps; i++)
    n += c->eps[i].res.alive;
  return n;
}

char *
probe_ep_url(const struct registry_ep *e)
{
  return e->ns ? xasprintf("%s?ns=%s", e->base, e->ns) : xstrdup(e->base);
}
