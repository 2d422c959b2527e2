/* bench/serve.py --client c: the load in C, so that the clients leave the
   servers more of this 2-core machine than Python clients do.
   loadgen PORT SECONDS THREADS: each thread connects to 127.0.0.1:PORT,
   reads to EOF, closes, until SECONDS have passed; prints
   "connections errors". Built by bench/serve.py with cc, never installed. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static double seconds;

struct result { long count, errors; };

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void *load(void *arg)
{
  struct result *r = arg;
  char buf[4096];
  double end = now() + seconds;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 only */
  while (now() < end) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n;
    if (fd < 0) { r->errors++; continue; }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { r->errors++; close(fd); continue; }
    while ((n = read(fd, buf, sizeof buf)) > 0)
      ;
    if (n < 0) r->errors++; else r->count++;
    close(fd);
  }
  return 0;
}

int main(int argc, char **argv)
{
  pthread_t threads[64];
  struct result results[64];
  int count, i;
  long total = 0, errors = 0;
  if (argc != 4) { fprintf(stderr, "usage: loadgen port seconds threads\n"); return 100; }
  port = atoi(argv[1]);
  seconds = atof(argv[2]);
  count = atoi(argv[3]);
  if (count < 1 || count > 64) return 100;
  memset(results, 0, sizeof results);
  for (i = 0; i < count; i++) pthread_create(&threads[i], 0, load, &results[i]);
  for (i = 0; i < count; i++) {
    pthread_join(threads[i], 0);
    total += results[i].count;
    errors += results[i].errors;
  }
  printf("%ld %ld\n", total, errors);
  return 0;
}
