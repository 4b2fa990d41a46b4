/* shaper: a loopback TCP proxy that makes a local registry look like a far one.
 *
 *   shaper TARGET_PORT [DELAY_MS [BYTES_PER_SECOND]]
 *
 * Listens on 127.0.0.1 (a free port, printed on stdout as one line) and
 * forwards every connection to 127.0.0.1:TARGET_PORT, with
 *   - latency: each request/response exchange waits DELAY_MS (default 40)
 *     before the client's bytes go on: the connection's first bytes, and
 *     again whenever the client speaks after the server has (a new HTTP
 *     request line on a kept-alive connection);
 *   - bandwidth: every byte, either way, on every connection, goes through
 *     one pacer of BYTES_PER_SECOND (default 20000000), so parallel
 *     connections share the cap instead of each getting it.
 * It never listens on or connects to anything but 127.0.0.1.  It exits by
 * itself when its parent goes away (bench/run ending, however it ends), and
 * after an hour in any case.
 *
 * Build: cc -O2 -pthread bench/shaper.c -o build/bench/shaper
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 16384
#define LIFETIME_S 3600
#define BURST_NS 4000000u

static uint16_t target_port;
static long delay_ms = 40;
static double rate = 20e6;
static pid_t parent;

static pthread_mutex_t pacer_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t pacer_next; /* ns (CLOCK_MONOTONIC) when the link is free */

static uint64_t
now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sleep_until(uint64_t t)
{
  struct timespec ts = {.tv_sec = (time_t)(t / 1000000000u), .tv_nsec = (long)(t % 1000000000u)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

/* Reserve the shared link for n bytes; return when they have "crossed" it. */
static void
pace(size_t n)
{
  uint64_t t = now_ns(), done;
  pthread_mutex_lock(&pacer_lock);
  /* A little credit (BURST_NS) so that a lone connection's own syscall
   * and wake-up overheads do not come off its share of the link. */
  if (pacer_next + BURST_NS < t)
    pacer_next = t - BURST_NS;
  pacer_next += (uint64_t)((double)n * 1e9 / rate);
  done = pacer_next;
  pthread_mutex_unlock(&pacer_lock);
  sleep_until(done);
}

static int
write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int
connect_target(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(target_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void *
serve(void *arg)
{
  int c = (int)(intptr_t)arg, s = connect_target();
  char buf[CHUNK];
  int fresh = 1; /* the next client bytes start a new exchange */
  int c_open = 1, s_open = 1;

  if (s < 0) {
    close(c);
    return NULL;
  }
  while (c_open || s_open) {
    struct pollfd p[2] = {{.fd = c_open ? c : -1, .events = POLLIN},
                          {.fd = s_open ? s : -1, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[0].revents) { /* client -> server */
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) {
        c_open = 0;
        shutdown(s, SHUT_WR);
      } else {
        if (fresh) {
          sleep_until(now_ns() + (uint64_t)delay_ms * 1000000u);
          fresh = 0;
        }
        pace((size_t)n);
        if (write_all(s, buf, (size_t)n) < 0)
          break;
      }
    }
    if (p[1].revents) { /* server -> client */
      ssize_t n = recv(s, buf, sizeof buf, 0);
      if (n <= 0) {
        s_open = 0;
        shutdown(c, SHUT_WR);
      } else {
        fresh = 1;
        pace((size_t)n);
        if (write_all(c, buf, (size_t)n) < 0)
          break;
      }
    }
  }
  close(c);
  close(s);
  return NULL;
}

static void *
watchdog(void *arg)
{
  (void)arg;
  uint64_t end = now_ns() + (uint64_t)LIFETIME_S * 1000000000u;
  for (;;) {
    if (getppid() != parent || now_ns() > end)
      _exit(0);
    usleep(200000);
  }
  return NULL;
}

int
main(int argc, char **argv)
{
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: shaper TARGET_PORT [DELAY_MS [BYTES_PER_SECOND]]\n");
    return 2;
  }
  long tp = strtol(argv[1], NULL, 10);
  if (tp <= 0 || tp > 65535) {
    fprintf(stderr, "shaper: bad port %s\n", argv[1]);
    return 2;
  }
  target_port = (uint16_t)tp;
  if (argc > 2)
    delay_ms = strtol(argv[2], NULL, 10);
  if (argc > 3)
    rate = strtod(argv[3], NULL);
  if (delay_ms < 0 || rate <= 0) {
    fprintf(stderr, "shaper: bad delay or rate\n");
    return 2;
  }
  parent = getppid();
  signal(SIGPIPE, SIG_IGN);

  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 64) < 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) < 0) {
    perror("shaper: listen");
    return 1;
  }
  printf("%u\n", (unsigned)ntohs(a.sin_port));
  fflush(stdout);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  if (pthread_create(&t, &attr, watchdog, NULL) != 0) {
    perror("shaper: thread");
    return 1;
  }
  for (;;) {
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
        continue;
      perror("shaper: accept");
      return 1;
    }
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (pthread_create(&t, &attr, serve, (void *)(intptr_t)c) != 0)
      close(c);
  }
}
