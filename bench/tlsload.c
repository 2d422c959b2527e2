/* bench/tls.py's load generator: TLS clients in C (OpenSSL), so that the
   load costs this 2-core machine as little as it can.
   tlsload handshakes PORT SECONDS THREADS CAFILE: each thread connects to
     127.0.0.1:PORT, does a full TLS 1.3 handshake (a new SSL object every
     time, no session resumption), reads to EOF, closes, until SECONDS
     have passed; prints "handshakes errors cpu_seconds".
   tlsload bulk PORT BYTES CAFILE: one connection, reads BYTES (or to
     EOF); prints "bytes seconds cpu_seconds".
   Built by bench/tls.py with cc, never installed. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static double seconds;
static SSL_CTX *ctx;

struct result { long count, errors; };

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void)
{
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int dial(void)
{
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(0x7f000001); /* 127.0.0.1 only */
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { close(fd); return -1; }
  return fd;
}

/* one connection: handshake, read up to limit bytes (or EOF); bytes read, -1 on error */
static long session(long limit)
{
  char buf[65536];
  long total = 0;
  int fd = dial(), n;
  SSL *ssl;
  if (fd < 0) return -1;
  ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (SSL_connect(ssl) != 1) { SSL_free(ssl); close(fd); return -1; }
  while (total < limit && (n = SSL_read(ssl, buf, sizeof buf)) > 0)
    total += n;
  SSL_free(ssl);
  close(fd);
  return total;
}

static void *load(void *arg)
{
  struct result *r = arg;
  double end = now() + seconds;
  while (now() < end) {
    if (session(1L << 40) < 0) r->errors++; else r->count++;
  }
  return 0;
}

static int setup(const char *cafile)
{
  ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx || SSL_CTX_load_verify_locations(ctx, cafile, 0) != 1) return 0;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  return 1;
}

int main(int argc, char **argv)
{
  pthread_t threads[64];
  struct result results[64];
  int count, i;
  long total = 0, errors = 0;
  if (argc == 5 && !strcmp(argv[1], "bulk")) {
    double start, took, used;
    long got;
    port = atoi(argv[2]);
    if (!setup(argv[4])) { ERR_print_errors_fp(stderr); return 111; }
    start = now(); used = cpu();
    got = session(atol(argv[3]));
    took = now() - start;
    printf("%ld %.6f %.6f\n", got, took, cpu() - used);
    return got < 0 ? 111 : 0;
  }
  if (argc != 6 || strcmp(argv[1], "handshakes")) {
    fprintf(stderr, "usage: tlsload handshakes port seconds threads cafile | bulk port bytes cafile\n");
    return 100;
  }
  port = atoi(argv[2]);
  seconds = atof(argv[3]);
  count = atoi(argv[4]);
  if (count < 1 || count > 64) return 100;
  if (!setup(argv[5])) { ERR_print_errors_fp(stderr); return 111; }
  for (i = 0; i < count; i++) {
    results[i].count = results[i].errors = 0;
    pthread_create(&threads[i], 0, load, &results[i]);
  }
  for (i = 0; i < count; i++) {
    pthread_join(threads[i], 0);
    total += results[i].count;
    errors += results[i].errors;
  }
  printf("%ld %ld %.6f\n", total, errors, cpu());
  return 0;
}
